# One trivial step, no File/Directory inputs or outputs (so ZOO's runner adds no stage-in or
# stage-out): the latency probe of benchmarks/zoo_kernel.py.
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: one-step
    inputs:
      message: string
    outputs:
      out: {type: string, outputSource: say/out}
    steps:
      say:
        run: "#say"
        in: {message: message}
        out: [out]
  - class: CommandLineTool
    id: say
    baseCommand: [sh, -c]
    arguments: ['printf "{\"out\": \"%s\"}" "$0" > cwl.output.json', $(inputs.message)]
    inputs:
      message: string
    outputs:
      out: string
