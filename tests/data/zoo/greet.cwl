# A small Application Package with a File result (tests/test_object_store_zoo.py).
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: greet
    inputs:
      message: string
    outputs:
      out: {type: File, outputSource: say/out}
    steps:
      say:
        run: "#say"
        in: {message: message}
        out: [out]
  - class: CommandLineTool
    id: say
    baseCommand: echo
    inputs:
      message: {type: string, inputBinding: {position: 1}}
    stdout: greeting.txt
    outputs:
      out: stdout
