# The requirement as a hint in a namespace other than calrissian's, with the old spelling
# clusterMaxCore (eoap/dask-app-package examples) and expressions over the inputs.
cwlVersion: v1.2
$namespaces:
  ext: https://example.org/cwl-extensions#
class: CommandLineTool
id: counter
hints:
  ext:DaskGatewayRequirement:
    workerCores: $(inputs.cores)
    workerCoresLimit: $(inputs.cores)
    workerMemory: $(inputs.memory)
    clusterMaxCore: 8
    clusterMaxMemory: 64G
baseCommand: [echo]
inputs:
  cores: int
  memory: string
outputs: []
