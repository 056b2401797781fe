# workerMemory without a unit: refused when the document is loaded, naming the tool.
cwlVersion: v1.2
$namespaces:
  calrissian: https://calrissian-cwl.github.io/schema#
class: CommandLineTool
id: sloppy
requirements:
  calrissian:DaskGatewayRequirement:
    workerCores: 1
    workerCoresLimit: 1
    workerMemory: "4096"
    clusterMaxCores: 4
    clusterMaxMemory: 16G
baseCommand: [echo]
inputs: []
outputs: []
