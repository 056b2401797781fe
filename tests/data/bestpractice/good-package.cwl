#!/usr/bin/env cwl-runner
# Follows every rule cwl-dask checks (tests/test_bestpractice.py expects no warning).
cwlVersion: v1.2
$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.2.0
$graph:
  - class: Workflow
    id: main
    label: Copy a staged product
    doc: Copies the staged STAC catalog folder to the output.
    requirements:
      ResourceRequirement: {coresMax: 1, ramMax: 512}
    inputs:
      product:
        type: Directory
        label: staged product
        doc: folder with a STAC catalog.json
      tag:
        type: string
        label: tag
        doc: a free text
    outputs:
      results: {type: Directory, outputSource: copy/results}
    steps:
      copy:
        run: "#copy"
        in: {product: product}
        out: [results]
  - class: CommandLineTool
    id: copy
    hints:
      DockerRequirement: {dockerPull: "docker.io/library/alpine:3"}
    baseCommand: [cp, -r]
    inputs:
      product: {type: Directory, inputBinding: {position: 1}}
    arguments: [{valueFrom: ./out, position: 2}]
    outputs:
      results: {type: Directory, outputBinding: {glob: out}}
