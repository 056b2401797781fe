# A v1.0 workflow without any ResourceRequirement: cwltool's v1.0 default RAM is 1024 MiB.
cwlVersion: v1.0
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
