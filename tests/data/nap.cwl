cwlVersion: v1.2
class: Workflow
doc: |
  One step that records "PID DIRECTORY" of its shell and of a background child in `marker`,
  sleeps `seconds`, and writes out.txt: for killing workers and runs while a tool runs.
inputs:
  marker: string
  seconds: {type: int, default: 3}
outputs:
  out: {type: File, outputSource: nap/out}
steps:
  nap:
    in: {marker: marker, seconds: seconds}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c]
      arguments:
        - >-
          echo "$$ $PWD" >> $(inputs.marker);
          sleep $(inputs.seconds) & echo "$! $PWD" >> $(inputs.marker);
          wait; echo rested > out.txt
      inputs:
        marker: string
        seconds: int
      outputs:
        out: {type: File, outputBinding: {glob: out.txt}}
