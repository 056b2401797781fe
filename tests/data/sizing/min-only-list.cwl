# min-only.cwl with its requirements in list form.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  - class: ResourceRequirement
    coresMin: 6
    ramMin: 3000
baseCommand: "true"
inputs: []
outputs: []
