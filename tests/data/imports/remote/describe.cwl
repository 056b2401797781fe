# Served over HTTP by tests/test_imports.py: the tool a package runs by URL (run: http://...).
cwlVersion: v1.2
class: CommandLineTool
id: describe
requirements:
  InlineJavascriptRequirement: {}
baseCommand: echo
inputs:
  reference:
    type: string
    inputBinding: {position: 1}
stdout: reference.txt
outputs:
  described:
    type: stdout
    format: http://example.org/formats#PlainText
