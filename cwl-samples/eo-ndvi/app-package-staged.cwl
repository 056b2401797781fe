#!/usr/bin/env cwl-runner
# OGC EO Application Package: NDVI over staged STAC Items (Directory inputs).
#
# The same computation as app-package.cwl, shaped as OGC 20-089 and EO platforms want
# a package: every input product is a Directory holding a staged STAC catalog (one Item
# with assets "red" and "nir"), the result is one Directory holding a STAC catalog whose
# Items sit in a Collection. So it can be wrapped with stage-in/stage-out
# (`cwl-dask run --wrap`, or a ZOO-Project service): the wrapped #main takes STAC Item
# URLs (local paths, http(s)://, s3://) and returns the staged-out catalog's URI.
#
#   eo-ndvi (Workflow)
#     process  = scatter over stac_items of the sub-workflow #process_item
#                  ndvi  (CommandLineTool)  staged catalog -> <id>_ndvi.f32 + <id>_ndvi.json
#                  mask  (CommandLineTool)  NDVI > threshold -> <id>_mask.u8 + <id>_mask.json
#     mosaic   = gather: statistics over all NDVI bands -> ndvi_summary.json
#     stac     = STAC 1.1.0 catalog (Directory "catalog"): Collection "ndvi" with one Item
#                per input + a summary Item
#
# The tools are the stdlib-only Python 3 scripts of app-package.cwl, kept next to this
# file and staged with InitialWorkDirRequirement/$include.
cwlVersion: v1.2

$namespaces:
  s: https://schema.org/

$graph:
  - class: Workflow
    id: eo-ndvi
    label: NDVI with vegetation mask, over staged STAC Items
    doc: |
      Computes the normalized difference vegetation index (nir - red) / (nir + red)
      for each staged STAC Item (scatter, via a sub-workflow that also thresholds it
      into a vegetation mask), gathers overall statistics, and writes the results
      as a self-contained STAC 1.1.0 catalog holding one Collection.
    s:softwareVersion: 1.0.0
    requirements:
      ScatterFeatureRequirement: {}
      SubworkflowFeatureRequirement: {}
    inputs:
      stac_items:
        type: Directory[]
        label: STAC Items
        doc: >
          Staged STAC catalogs, one per input product: each holds catalog.json linking
          one Item whose assets "red" and "nir" are raw little-endian float32 grids.
      aoi_name:
        type: string
        label: Area of interest name
        doc: Name of the area of interest, used in the catalog title and description.
        default: synthetic-aoi
      threshold:
        type: float
        label: NDVI threshold
        doc: Pixels with NDVI above this value count as vegetation.
        default: 0.3
    outputs:
      results:
        type: Directory
        label: STAC catalog
        doc: Directory holding catalog.json, the Collection "ndvi" with one Item per input and a summary Item.
        outputSource: stac/catalog
    steps:
      process:
        run: "#process_item"
        scatter: item
        in:
          item: stac_items
          threshold: threshold
        out: [ndvi_band, ndvi_meta, mask_band, mask_meta]
      mosaic:
        run: "#mosaic"
        in:
          ndvi: process/ndvi_band
          threshold: threshold
        out: [summary]
      stac:
        run: "#stac"
        in:
          ndvi: process/ndvi_band
          mask: process/mask_band
          meta: process/mask_meta
          summary: mosaic/summary
          aoi_name: aoi_name
          threshold: threshold
        out: [catalog]

  - class: Workflow
    id: process_item
    label: NDVI and vegetation mask of one staged STAC Item
    doc: Sub-workflow run once per input product (the scatter body of eo-ndvi).
    inputs:
      item: Directory
      threshold: float
    outputs:
      ndvi_band:
        type: File
        outputSource: ndvi/ndvi
      ndvi_meta:
        type: File
        outputSource: ndvi/meta
      mask_band:
        type: File
        outputSource: mask/mask
      mask_meta:
        type: File
        outputSource: mask/meta
    steps:
      ndvi:
        run: "#ndvi"
        in:
          item: item
        out: [ndvi, meta]
      mask:
        run: "#mask"
        in:
          ndvi: ndvi/ndvi
          ndvi_meta: ndvi/meta
          threshold: threshold
        out: [mask, meta]

  - class: CommandLineTool
    id: ndvi
    label: NDVI of one staged item
    doc: Reads the red and nir assets of the Item of a staged catalog, writes <id>_ndvi.f32 and <id>_ndvi.json.
    hints:
      DockerRequirement:
        dockerPull: docker.io/library/python:3-slim
    requirements:
      ResourceRequirement:
        coresMin: 1
        ramMin: 512
      InitialWorkDirRequirement:
        listing:
          - entryname: ndvi.py
            entry:
              $include: ndvi.py
    baseCommand: [python3, ndvi.py]
    inputs:
      item:
        type: Directory
        inputBinding:
          position: 1
    outputs:
      ndvi:
        type: File
        outputBinding:
          glob: "*_ndvi.f32"
      meta:
        type: File
        outputBinding:
          glob: "*_ndvi.json"

  - class: CommandLineTool
    id: mask
    label: Vegetation mask
    doc: Thresholds an NDVI band, writes <id>_mask.u8 (1 = NDVI above threshold) and <id>_mask.json.
    hints:
      DockerRequirement:
        dockerPull: docker.io/library/python:3-slim
    requirements:
      ResourceRequirement:
        coresMin: 1
        ramMin: 256
      InitialWorkDirRequirement:
        listing:
          - entryname: mask.py
            entry:
              $include: mask.py
    baseCommand: [python3, mask.py]
    inputs:
      ndvi:
        type: File
        inputBinding:
          position: 1
      ndvi_meta:
        type: File
        inputBinding:
          position: 2
      threshold:
        type: float
        inputBinding:
          position: 3
    outputs:
      mask:
        type: File
        outputBinding:
          glob: "*_mask.u8"
      meta:
        type: File
        outputBinding:
          glob: "*_mask.json"

  - class: CommandLineTool
    id: mosaic
    label: Overall NDVI statistics
    doc: Gathers all NDVI bands; writes ndvi_summary.json (mean, min, max, fraction above threshold).
    hints:
      DockerRequirement:
        dockerPull: docker.io/library/python:3-slim
    requirements:
      ResourceRequirement:
        coresMin: 1
        ramMin: 1024
      InitialWorkDirRequirement:
        listing:
          - entryname: mosaic.py
            entry:
              $include: mosaic.py
    baseCommand: [python3, mosaic.py]
    inputs:
      threshold:
        type: float
        inputBinding:
          position: 1
      ndvi:
        type: File[]
        inputBinding:
          position: 2
    outputs:
      summary:
        type: File
        outputBinding:
          glob: ndvi_summary.json

  - class: CommandLineTool
    id: stac
    label: STAC catalog
    doc: Writes the directory "catalog" holding a self-contained STAC 1.1.0 catalog, its Items in the Collection "ndvi".
    hints:
      DockerRequirement:
        dockerPull: docker.io/library/python:3-slim
    requirements:
      ResourceRequirement:
        coresMin: 2
        ramMin: 768
      InitialWorkDirRequirement:
        listing:
          - entryname: stac.py
            entry:
              $include: stac.py
    baseCommand: [python3, stac.py]
    arguments: [--collection, ndvi]
    inputs:
      aoi_name:
        type: string
        inputBinding:
          prefix: --aoi-name
          position: 1
      threshold:
        type: float
        inputBinding:
          prefix: --threshold
          position: 2
      summary:
        type: File
        inputBinding:
          prefix: --summary
          position: 3
      ndvi:
        type: File[]
        inputBinding:
          prefix: --ndvi
          position: 4
      mask:
        type: File[]
        inputBinding:
          prefix: --mask
          position: 5
      meta:
        type: File[]
        inputBinding:
          prefix: --meta
          position: 6
    outputs:
      catalog:
        type: Directory
        outputBinding:
          glob: catalog
