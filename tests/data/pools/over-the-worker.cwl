#!/usr/bin/env cwl-runner
# Holds `allocate` MiB (touched, so resident) for two seconds, with only a ramMin: nothing
# limits it (tests/test_memory_limit.py: a warning when it is more than its worker has).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement: {ramMin: 32}
baseCommand:
  - python3
  - -c
  - 'import sys, time; b = b"x" * (int(sys.argv[1]) * 2**20); time.sleep(2.5); print(len(b))'
inputs:
  allocate: {type: int, default: 400, inputBinding: {position: 1}}
outputs:
  out: stdout
