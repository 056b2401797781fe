# Only the Min values are given (map form); the ZOO runners read only the Max values.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement:
    coresMin: 6
    ramMin: 3000
baseCommand: "true"
inputs: []
outputs: []
