# Two independent scatters (same wave) followed by a third that depends on one of them.
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: main
    requirements:
      ScatterFeatureRequirement: {}
    inputs:
      items: int[]
      more: int[]
    outputs: []
    steps:
      left:
        run: "#one"
        scatter: n
        in: {n: items}
        out: [out]
      right:
        run: "#one"
        scatter: n
        in: {n: items}
        out: [out]
      after:
        run: "#one"
        scatter: n
        in: {n: more, after: left/out}
        out: [out]
  - class: CommandLineTool
    id: one
    baseCommand: "true"
    inputs:
      n: int
    outputs:
      out: stdout
