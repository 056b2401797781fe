#!/usr/bin/env cwl-runner
# Two step shapes that one worker size serves badly: a 1-core scatter (crop, 512 MiB each)
# and a 2-core / 3 GiB gather (mosaic). `cwl-dask plan` makes two pools of them.
cwlVersion: v1.2
$graph:
- id: main
  class: Workflow
  requirements:
    ScatterFeatureRequirement: {}
  inputs:
    tiles: string[]
    pause: {type: float, default: 0}
  outputs:
    result: {type: File, outputSource: mosaic/out}
  steps:
    crop:
      run: "#crop"
      scatter: tile
      in: {tile: tiles, pause: pause}
      out: [out]
    mosaic:
      run: "#mosaic"
      in: {parts: crop/out}
      out: [out]
- id: crop
  class: CommandLineTool
  requirements:
    ResourceRequirement: {coresMin: 1, ramMin: 512}
  baseCommand: [sh, -c, 'sleep "$1"; echo "$2" > part.txt', crop]
  inputs:
    pause: {type: float, inputBinding: {position: 1}}
    tile: {type: string, inputBinding: {position: 2}}
  outputs:
    out: {type: File, outputBinding: {glob: part.txt}}
- id: mosaic
  class: CommandLineTool
  requirements:
    ResourceRequirement: {coresMin: 2, ramMin: 3072}
  baseCommand: [sh, -c, 'cat "$@" > mosaic.txt', mosaic]
  inputs:
    parts: {type: 'File[]', inputBinding: {position: 1}}
  outputs:
    out: {type: File, outputBinding: {glob: mosaic.txt}}
