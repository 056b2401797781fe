cwlVersion: v1.2
class: CommandLineTool
doc: A record output whose field's glob is given; its fields are collected as outputs are.
baseCommand: [sh, -c, 'echo a > a.txt']
inputs:
  pattern: string
outputs:
  found:
    type:
      type: record
      fields:
        inner: {type: File, outputBinding: {glob: $(inputs.pattern)}}
