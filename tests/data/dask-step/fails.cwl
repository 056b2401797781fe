# A tool with a DaskGatewayRequirement that fails: its cluster must still be shut down.
cwlVersion: v1.2
$namespaces:
  calrissian: https://calrissian-cwl.github.io/schema#
class: CommandLineTool
id: broken
requirements:
  calrissian:DaskGatewayRequirement:
    workerCores: 1
    workerCoresLimit: 1
    workerMemory: 512M
    clusterMaxCores: 1
    clusterMaxMemory: 1G
baseCommand: [sh, -c, 'echo "DASK_CLUSTER=$DASK_CLUSTER" >&2; exit 3']
inputs: []
outputs: []
