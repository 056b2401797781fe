cwlVersion: v1.2
class: CommandLineTool
doc: |
  Records "PID DIRECTORY" of its shell and of a background child in `marker`, sleeps
  `seconds`, writes out.txt. `limit` > 0 sets a ToolTimeLimit. For the reliability tests,
  which kill workers and runs while it sleeps and check that every recorded pid is gone.
requirements:
  ToolTimeLimit: {timelimit: $(inputs.limit)}
  InlineJavascriptRequirement: {}
baseCommand: [sh, -c]
arguments:
  - >-
    echo "$$ $PWD" >> $(inputs.marker);
    sleep $(inputs.seconds) & echo "$! $PWD" >> $(inputs.marker);
    wait; echo rested > out.txt
inputs:
  marker: string
  seconds: {type: int, default: 3}
  limit: {type: int, default: 0}
  after: {type: File?, doc: only orders the step after another}
outputs:
  out: {type: File, outputBinding: {glob: out.txt}}
