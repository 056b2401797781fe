#!/usr/bin/env cwl-runner
# cwl-dask's default stage-out (eoap-cwlwrap contract: one Directory input, one URI output).
#
# Copies the application's result directory (a STAC catalog) to stage_out_target — a
# local directory, file://, or s3:// when fsspec and s3fs are importable — under
# <catalog id>-<digest>/, and returns the URI of the copied catalog.json.
# The script (stage_out.py, next to this file) is included into the tool; like
# stage-in.cwl it needs a Python 3 (with fsspec/s3fs for s3://).
cwlVersion: v1.2
class: CommandLineTool
id: stage-out
label: Stage out a STAC catalog
doc: Copies or uploads a result STAC catalog and returns the URI of its root document.
requirements:
  SchemaDefRequirement:
    types:
      - $import: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml
  NetworkAccess:
    networkAccess: true
  InitialWorkDirRequirement:
    listing:
      - entryname: stage_out.py
        entry:
          $include: stage_out.py
  ResourceRequirement:
    coresMin: 1
    ramMin: 256
baseCommand: [python3, stage_out.py]
inputs:
  stage_out_target:
    type: string
    label: Stage-out target
    doc: Directory (path or file://) or s3:// URL under which result catalogs are copied.
    inputBinding:
      prefix: --target
  catalog:
    type: Directory
    label: Result catalog
    doc: A Directory output of the application holding a STAC catalog.
    inputBinding:
      prefix: --catalog
outputs:
  stac_catalog:
    type: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml#URI
    doc: URI of the staged-out catalog.json.
