cwlVersion: v1.2
class: ExpressionTool
doc: |
  Returns its input File, or a File at the location it is given: an ExpressionTool writes
  nothing, so its Files must be its inputs.
requirements:
  InlineJavascriptRequirement: {}
inputs:
  location: string?
  given: File?
outputs:
  found: File
expression: |
  $({"found": inputs.given ? inputs.given : {"class": "File", "location": inputs.location}})
