cwlVersion: v1.2
class: CommandLineTool
doc: |
  Fails with exit code 75 (a temporaryFailCode) while the counter file has fewer than
  `failures` lines, then succeeds; every attempt appends one line to the counter.
  The output is optional: cwltool collects outputs after a temporaryFail too.
baseCommand: [sh, -c]
arguments:
  - 'echo attempt >> "$1"; if [ `wc -l < "$1"` -le $(inputs.failures) ]; then echo "busy, try later" >&2; exit 75; fi; echo done > done.txt'
  - sh
  - $(inputs.counter)
temporaryFailCodes: [75]
successCodes: [0]
inputs:
  counter: string
  failures: int
outputs:
  done: {type: 'File?', outputBinding: {glob: done.txt}}
