# A stage-in written as upstream's are: the URI type $import-ed from eoap/schemas on
# GitHub (cwl-dask wrap must not fetch it), an extra input that the wrapper adds to #main.
cwlVersion: v1.2
class: CommandLineTool
id: my-stage-in
requirements:
  SchemaDefRequirement:
    types:
      - $import: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml
  InlineJavascriptRequirement: {}
baseCommand: [sh, -c, 'mkdir staged && echo "$0" > staged/reference.txt']
inputs:
  reference:
    type: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml#URI
    inputBinding:
      valueFrom: $(self.value)
  api_key:
    type: string
outputs:
  staged:
    type: Directory
    outputBinding:
      glob: staged
