# A ResourceRequirement given as a hint of the Workflow reaches the tools of its steps
# (inline run), unless a tool says otherwise itself.
cwlVersion: v1.2
class: Workflow
hints:
  ResourceRequirement:
    coresMin: 3
    ramMin: 10240
inputs: []
outputs: []
steps:
  inherits:
    run:
      class: CommandLineTool
      baseCommand: "true"
      inputs: []
      outputs: []
    in: []
    out: []
  own:
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement:
          coresMin: 1
          ramMin: 512
      baseCommand: "true"
      inputs: []
      outputs: []
    in: []
    out: []
