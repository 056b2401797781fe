#!/usr/bin/env cwl-runner
# A CPU step and a GPU step (cwltool's CUDARequirement, one device): two pools, one with GPUs.
cwlVersion: v1.2
$graph:
- id: main
  class: Workflow
  inputs:
    message: {type: string, default: hi}
  outputs:
    prepared: {type: File, outputSource: prepare/out}
    trained: {type: File, outputSource: train/out}
  steps:
    prepare:
      run: "#prepare"
      in: {message: message}
      out: [out]
    train:
      run: "#train"
      in: {data: prepare/out}
      out: [out]
- id: prepare
  class: CommandLineTool
  baseCommand: [sh, -c, 'echo "$1" > data.txt', prepare]
  inputs:
    message: {type: string, inputBinding: {position: 1}}
  outputs:
    out: {type: File, outputBinding: {glob: data.txt}}
- id: train
  class: CommandLineTool
  $namespaces: {cwltool: "http://commonwl.org/cwltool#"}
  hints:
    cwltool:CUDARequirement:
      cudaVersionMin: "11.4"
      cudaComputeCapability: "3.0"
      cudaDeviceCountMin: 1
  baseCommand: [sh, -c, 'echo "trained on GPU ${CUDA_VISIBLE_DEVICES-all}" > model.txt']
  inputs:
    data: File
  outputs:
    out: {type: File, outputBinding: {glob: model.txt}}
