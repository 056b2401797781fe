# clusterMaxCores from a workflow input: 0 is refused before the step runs, naming it.
cwlVersion: v1.2
$namespaces:
  calrissian: https://calrissian-cwl.github.io/schema#
class: Workflow
inputs:
  cores: int
outputs: []
steps:
  first:
    run:
      class: CommandLineTool
      baseCommand: [echo, first]
      inputs: []
      outputs: []
    in: {}
    out: []
  crunch:
    run:
      class: CommandLineTool
      requirements:
        calrissian:DaskGatewayRequirement:
          workerCores: 1
          workerCoresLimit: 1
          workerMemory: 1G
          clusterMaxCores: $(inputs.cores)
          clusterMaxMemory: 4G
      baseCommand: [echo]
      inputs:
        cores: int
      outputs: []
    in: {cores: cores}
    out: []
