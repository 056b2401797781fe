#!/usr/bin/env cwl-runner
# OGC EO Application Package whose tool is itself a Dask program.
#
#   main (Workflow)
#     raster_stats (CommandLineTool, calrissian:DaskGatewayRequirement)
#         dask.array statistics over a synthetic raster -> stats.json + dask.json
#
# Before the tool runs, the runner creates a Dask cluster of the requirement's shape
# (cwl-dask: on the run's Dask Gateway, else a local cluster; calrissian: on its Dask
# Gateway), gives the tool its name (DASK_CLUSTER) or address (DASK_SCHEDULER_ADDRESS),
# and shuts it down afterwards. The tool needs python3 with dask, distributed and
# dask-gateway (the DockerRequirement hint names an image that has them).
cwlVersion: v1.2

$namespaces:
  s: https://schema.org/
  calrissian: https://calrissian-cwl.github.io/schema#

$graph:
  - class: Workflow
    id: main
    label: Raster statistics on a per-step Dask cluster
    doc: |
      Computes mean, standard deviation, extremes and the count of pixels above a
      threshold of a synthetic size x size raster with dask.array, on a Dask cluster
      created for the step.
    s:softwareVersion: 1.0.0
    inputs:
      size:
        type: int
        label: Raster side (pixels)
        doc: Side of the square synthetic raster, in pixels.
        default: 2048
      chunk:
        type: int
        label: Chunk side (pixels)
        doc: Side of the square dask.array chunks, in pixels.
        default: 512
      threshold:
        type: float
        label: Threshold
        doc: Pixels above this value are counted.
        default: 0.5
      max_cores:
        type: int
        label: Cores of the step's Dask cluster
        doc: >
          clusterMaxCores of the step's DaskGatewayRequirement; with 1-core workers,
          the number of workers it gets.
        default: 2
    outputs:
      stats:
        type: File
        outputSource: raster_stats/stats
      dask_report:
        type: File
        outputSource: raster_stats/dask_report
    steps:
      raster_stats:
        run: "#raster-stats"
        in:
          size: size
          chunk: chunk
          threshold: threshold
          max_cores: max_cores
        out: [stats, dask_report]

  - class: CommandLineTool
    id: raster-stats
    requirements:
      InitialWorkDirRequirement:
        listing:
          - entryname: raster_stats.py
            entry:
              $include: raster_stats.py
      NetworkAccess:
        networkAccess: true  # a containerised tool must reach its cluster
      ResourceRequirement:
        coresMin: 1
        ramMin: 512
      calrissian:DaskGatewayRequirement:
        workerCores: 1
        workerCoresLimit: 1
        workerMemory: "1G"
        clusterMaxCores: $(inputs.max_cores)  # expressions see the step's inputs
        clusterMaxMemory: "4G"
    hints:
      DockerRequirement:
        dockerPull: ghcr.io/dask/dask:2026.8.0
    baseCommand: [python3, raster_stats.py]
    inputs:
      size:
        type: int
        inputBinding: {prefix: --size}
      chunk:
        type: int
        inputBinding: {prefix: --chunk}
      threshold:
        type: float
        inputBinding: {prefix: --threshold}
      max_cores:
        type: int
    outputs:
      stats:
        type: File
        outputBinding: {glob: stats.json}
      dask_report:
        type: File
        outputBinding: {glob: dask.json}
