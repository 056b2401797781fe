# A scatter (over the values of one group) inside a scattered subworkflow (over groups).
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: main
    requirements:
      ScatterFeatureRequirement: {}
      SubworkflowFeatureRequirement: {}
    inputs:
      groups:
        type:
          type: array
          items: {type: array, items: int}
    outputs: []
    steps:
      group:
        run: "#per_group"
        scatter: values
        in: {values: groups}
        out: []
  - class: Workflow
    id: per_group
    requirements:
      ScatterFeatureRequirement: {}
    inputs:
      values: int[]
    outputs: []
    steps:
      work:
        run: "#work"
        scatter: value
        in: {value: values}
        out: []
  - class: CommandLineTool
    id: work
    baseCommand: "true"
    inputs:
      value: int
    outputs: []
