cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  hog:
    in: []
    out: []
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement: {coresMin: 64, ramMin: 1000000}
      baseCommand: "true"
      inputs: []
      outputs: []
