cwlVersion: v1.2
# Progress totals: a flat crossproduct scatter (5 x 2), and a scatter over a sub-workflow
# whose second step runs only for odd numbers (skipped elements drop out of the total).
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
  SubworkflowFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  numbers: {type: "int[]", default: [1, 2, 3, 4, 5]}
  letters: {type: "string[]", default: [a, b]}
outputs:
  pairs: {type: "string[]", outputSource: pair/text}
  odd: {type: {type: array, items: ["null", int]}, outputSource: per_number/odd}
steps:
  pair:
    scatter: [n, l]
    scatterMethod: flat_crossproduct
    in: {n: numbers, l: letters}
    out: [text]
    run:
      class: ExpressionTool
      inputs: {n: int, l: string}
      outputs: {text: string}
      expression: '$({"text": inputs.l + inputs.n})'
  per_number:
    scatter: n
    in: {n: numbers}
    out: [odd]
    run:
      class: Workflow
      inputs: {n: int}
      outputs:
        odd: {type: "int?", outputSource: only_odd/value}
      steps:
        square:
          in: {n: n}
          out: [value]
          run:
            class: ExpressionTool
            inputs: {n: int}
            outputs: {value: int}
            expression: '$({"value": inputs.n * inputs.n})'
        only_odd:
          when: $(inputs.v % 2 == 1)
          in: {v: square/value}
          out: [value]
          run:
            class: ExpressionTool
            inputs: {v: int}
            outputs: {value: int}
            expression: '$({"value": inputs.v})'
