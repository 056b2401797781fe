#!/usr/bin/env cwl-runner
# The same allocation with only a ramMin: CWL makes ramMax = ramMin, cwl-dask limits nothing.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement: {ramMin: 32}
baseCommand: [python3, -c, 'import sys; b = bytearray(int(sys.argv[1]) * 2**20); print(len(b))']
inputs:
  allocate: {type: int, default: 200, inputBinding: {position: 1}}
outputs:
  out: stdout
