# v10-defaults.cwl as v1.2: the default RAM is 256 MiB.
cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  only:
    run:
      class: CommandLineTool
      baseCommand: "true"
      inputs: []
      outputs: []
    in: []
    out: []
