cwlVersion: v1.2
class: Workflow
doc: |
  first -> middle -> last. Every invocation appends its step name to `marker` (a path
  outside the work directories), so a test can count what really ran; `broken: 4`
  (an exit code) makes the middle step fail.
inputs:
  marker: string
  broken: {type: int, default: 0}
outputs:
  result: {type: File, outputSource: last/out}
steps:
  first:
    in: {marker: marker}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'echo first >> "$0"; echo a > first.txt']
      arguments: [$(inputs.marker)]
      inputs: {marker: string}
      outputs: {out: {type: File, outputBinding: {glob: first.txt}}}
  middle:
    in: {marker: marker, src: first/out, broken: broken}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'echo middle >> "$0"; if [ "$2" != 0 ]; then exit "$2"; fi; cat "$1" > middle.txt; echo b >> middle.txt']
      arguments: [$(inputs.marker), $(inputs.src.path), $(inputs.broken)]
      inputs: {marker: string, src: File, broken: int}
      outputs: {out: {type: File, outputBinding: {glob: middle.txt}}}
  last:
    in: {marker: marker, src: middle/out}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'echo last >> "$0"; cat "$1" > last.txt; echo c >> last.txt']
      arguments: [$(inputs.marker), $(inputs.src.path)]
      inputs: {marker: string, src: File}
      outputs: {out: {type: File, outputBinding: {glob: last.txt}}}
