# The input a resource expression reads comes from another step: unknown before the run.
cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  count:
    run:
      class: ExpressionTool
      requirements:
        InlineJavascriptRequirement: {}
      inputs: []
      outputs:
        n: int
      expression: "${ return {n: 4}; }"
    in: []
    out: [n]
  work:
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement:
          coresMin: $(inputs.threads)
          ramMin: 700
      baseCommand: "true"
      inputs:
        threads: int
      outputs: []
    in: {threads: count/n}
    out: []
