#!/usr/bin/env cwl-runner
# A tool that allocates `allocate` MiB under an explicit ramMax of `limit` MiB (an expression).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
  ResourceRequirement: {ramMin: 32, ramMax: $(inputs.limit)}
baseCommand: [python3, -c, 'import sys; b = bytearray(int(sys.argv[1]) * 2**20); print(len(b))']
inputs:
  allocate: {type: int, default: 200, inputBinding: {position: 1}}
  limit: {type: int, default: 64}
outputs:
  out: stdout
