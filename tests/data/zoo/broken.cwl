# A small Application Package whose second step fails (tests/test_zoo.py).
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: broken
    inputs:
      message: string
    outputs:
      out: {type: File, outputSource: explode/out}
    steps:
      greet:
        run: "#greet"
        in: {message: message}
        out: [out]
      explode:
        run: "#explode"
        in: {previous: greet/out}
        out: [out]
  - class: CommandLineTool
    id: greet
    baseCommand: echo
    inputs:
      message: {type: string, inputBinding: {position: 1}}
    outputs:
      out: stdout
  - class: CommandLineTool
    id: explode
    baseCommand: [sh, -c, 'echo "disk on fire" >&2; exit 3']
    inputs:
      previous: File
    outputs:
      out: stdout
