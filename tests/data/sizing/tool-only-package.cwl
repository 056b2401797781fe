# An Application Package whose $graph holds only a CommandLineTool (no Workflow):
# the ZOO runners size nothing for it.
cwlVersion: v1.2
$graph:
  - class: CommandLineTool
    id: main
    requirements:
      - class: ResourceRequirement
        coresMin: 3
        coresMax: 4
        ramMin: 2048
    baseCommand: "true"
    inputs: []
    outputs: []
