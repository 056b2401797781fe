#!/usr/bin/env cwl-runner
# Two steps of one shape, one of them placed on high-memory nodes: two pools.
cwlVersion: v1.2
$namespaces: {cwl-dask: "https://github.com/cwl-dask/schema#"}
$graph:
- id: main
  class: Workflow
  inputs: []
  outputs:
    a: {type: File, outputSource: plain/out}
    b: {type: File, outputSource: placed/out}
  steps:
    plain: {run: "#touch", in: {}, out: [out]}
    placed:
      run: "#touch"
      in: {}
      out: [out]
      hints:
        cwl-dask:Placement:
          labels: {pool: highmem}
- id: touch
  class: CommandLineTool
  baseCommand: [touch, out.txt]
  inputs: []
  outputs:
    out: {type: File, outputBinding: {glob: out.txt}}
