# The same tool scattered over two arrays with each scatterMethod, and over one array.
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: main
    requirements:
      ScatterFeatureRequirement: {}
    inputs:
      a: int[]
      b: string[]
    outputs: []
    steps:
      dot:
        run: "#pair"
        scatter: [a, b]
        scatterMethod: dotproduct
        in: {a: a, b: b}
        out: []
      flat:
        run: "#pair"
        scatter: [a, b]
        scatterMethod: flat_crossproduct
        in: {a: a, b: b}
        out: []
      nested:
        run: "#pair"
        scatter: [a, b]
        scatterMethod: nested_crossproduct
        in: {a: a, b: b}
        out: []
      single:
        run: "#pair"
        scatter: a
        in: {a: a, b: {default: "x"}}
        out: []
  - class: CommandLineTool
    id: pair
    baseCommand: "true"
    inputs:
      a: int
      b: string
    outputs: []
