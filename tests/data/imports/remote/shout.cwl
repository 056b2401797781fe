# Served over HTTP by tests/test_imports.py: run: by the package's second Workflow only.
cwlVersion: v1.2
class: CommandLineTool
id: shout
baseCommand: echo
inputs:
  word: {type: string, inputBinding: {position: 1}}
outputs: []
