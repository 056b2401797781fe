cwlVersion: v1.2
class: Workflow
doc: A quick step (wake), then nap-tool.cwl (nap), which records its pids and sleeps.
inputs:
  marker: string
  seconds: {type: int, default: 3}
outputs:
  out: {type: File, outputSource: nap/out}
steps:
  wake:
    in: {}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [echo, awake]
      inputs: []
      outputs:
        out: stdout
  nap:
    in: {marker: marker, seconds: seconds, after: wake/out}
    out: [out]
    run: nap-tool.cwl
