# The scattered array is produced by another step: its length is known only at run time.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs: []
outputs: []
steps:
  make:
    run:
      class: ExpressionTool
      requirements:
        InlineJavascriptRequirement: {}
      inputs: []
      outputs:
        numbers: int[]
      expression: "${ return {numbers: [1, 2, 3]}; }"
    in: []
    out: [numbers]
  use:
    run:
      class: CommandLineTool
      baseCommand: "true"
      inputs:
        n: int
      outputs: []
    scatter: n
    in: {n: make/numbers}
    out: []
