#!/usr/bin/env cwl-runner
# Perl allocating 200 MiB under an explicit ramMax of 64 MiB: it says "Out of memory!" and
# exits 12 (tests/test_memory_limit.py).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement: {ramMin: 32, ramMax: 64}
baseCommand: [perl, -e, '$x = "a" x (200 * 2**20); print length $x']
inputs: {}
outputs:
  out: stdout
