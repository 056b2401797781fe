# A CommandLineTool alone is valid CWL but not an Application Package (no Workflow).
cwlVersion: v1.2
class: CommandLineTool
id: lone
baseCommand: "true"
inputs: []
outputs: []
