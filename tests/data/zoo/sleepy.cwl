# A small Application Package whose one step outlives any wall_time (tests/test_zoo.py).
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: sleepy
    inputs:
      seconds: int
    outputs:
      out: {type: File, outputSource: nap/out}
    steps:
      nap:
        run: "#nap"
        in: {seconds: seconds}
        out: [out]
  - class: CommandLineTool
    id: nap
    baseCommand: sleep
    inputs:
      seconds: {type: int, inputBinding: {position: 1}}
    outputs:
      out: stdout
