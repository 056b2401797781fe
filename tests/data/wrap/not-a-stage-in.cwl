# Takes a string, not a URI: eoap-cwlwrap's contract refuses it as a stage-in.
cwlVersion: v1.2
class: CommandLineTool
id: not-a-stage-in
baseCommand: [mkdir, staged]
inputs:
  reference: string
outputs:
  staged:
    type: Directory
    outputBinding:
      glob: staged
