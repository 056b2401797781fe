#!/usr/bin/env cwl-runner
# cwl-dask's default stage-in (eoap-cwlwrap contract: one URI input, one Directory output).
#
# Resolves a STAC Item, Catalog or Collection reference (local path, file://, http(s)://,
# s3:// when fsspec and s3fs are importable) into a local directory holding a
# self-contained catalog.json: catalog.json -> <item-id>/<item-id>.json -> assets beside
# each item, all hrefs relative (the layout OGC 20-089 asks of staged inputs).
#
# The script (stage_in.py, next to this file) is included into the tool; it needs a
# Python 3 with pystac. `cwl-dask run --wrap` runs it with cwl-dask's own interpreter;
# `cwl-dask wrap` writes `python3` (see --staging-python in the README).
cwlVersion: v1.2
class: CommandLineTool
id: stage-in
label: Stage in a STAC reference
doc: Downloads a STAC Item/Catalog/Collection and its assets into a self-contained local catalog.
requirements:
  SchemaDefRequirement:
    types:
      - $import: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml
  NetworkAccess:
    networkAccess: true
  InitialWorkDirRequirement:
    listing:
      - entryname: stage_in.py
        entry:
          $include: stage_in.py
  ResourceRequirement:
    coresMin: 1
    ramMin: 256
baseCommand: [python3, stage_in.py]
inputs:
  reference:
    type: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml#URI
    label: STAC reference
    doc: URL or path of a STAC Item, Catalog or Collection.
    inputBinding:
      valueFrom: $(self.value)
outputs:
  staged:
    type: Directory
    doc: The staged catalog (catalog.json at its top).
