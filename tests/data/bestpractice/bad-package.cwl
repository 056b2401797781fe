#!/usr/bin/env cwl-runner
# Valid CWL that runs, but breaks OGC 20-089r1 rules on purpose (tests/test_bestpractice.py):
# no #main and two top-level Workflows, no label/doc, a File and a string product reference
# instead of Directory, no Directory output, no s:softwareVersion, a tool without
# ResourceRequirement and DockerRequirement.
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: water-bodies
    inputs:
      input_reference: string
      aoi:
        type: File
        label: area of interest
        doc: a GeoJSON polygon
    outputs:
      report: {type: File, outputSource: count/report}
    steps:
      count:
        run: "#count"
        in: {reference: input_reference, aoi: aoi}
        out: [report]
  - class: Workflow
    id: other-entry
    label: another top-level workflow
    doc: makes the entry ambiguous
    inputs:
      reference: string
    outputs: []
    steps: []
  - class: CommandLineTool
    id: count
    baseCommand: echo
    inputs:
      reference: {type: string, inputBinding: {position: 1}}
      aoi: {type: File, inputBinding: {position: 2}}
    stdout: report.txt
    outputs:
      report: {type: stdout}
