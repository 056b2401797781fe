#!/usr/bin/env cwl-runner
# Node.js allocating 300 MiB under an explicit ramMax of 128 MiB: "RangeError: Array buffer
# allocation failed", exit 1 (tests/test_memory_limit.py).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement: {ramMin: 32, ramMax: 128}
baseCommand: [node, -e, 'const b = new ArrayBuffer(300 * 2 ** 20); console.log(b.byteLength)']
inputs: {}
outputs:
  out: stdout
