#!/usr/bin/env cwl-runner
# cwl-dask's default stage-out (eoap-cwlwrap contract: one Directory input, one URI output).
#
# Copies the application's result directory (a STAC catalog) to a target — a local
# directory, file://, or s3:// when fsspec and s3fs are importable — under
# <catalog id>-<digest>/, and returns the URI of the copied catalog.json.
#
# The target, first given wins: stage_out_target (cwl-dask's own; `run --wrap` fills it);
# calrissian's spelling as EOEPCA's ZOO service template sets it, s3://STAGEOUT_OUTPUT/process
# with STAGEOUT_AWS_* credentials; eoap's spelling as zoo-template-common sets it,
# s3://s3_bucket/sub_path with aws_access_key_id/aws_secret_access_key/endpoint_url/
# region_name. eoap-cwlwrap adds these inputs to the wrapped #main (all default to "");
# credentials reach the script as environment variables and are cwltool secrets.
#
# The script (stage_out.py, next to this file) is included into the tool; like
# stage-in.cwl it needs a Python 3 (with fsspec/s3fs for s3://).
cwlVersion: v1.2
class: CommandLineTool
id: stage-out
label: Stage out a STAC catalog
doc: Copies or uploads a result STAC catalog and returns the URI of its root document.
$namespaces:
  cwltool: http://commonwl.org/cwltool#
hints:
  cwltool:Secrets:
    secrets: [aws_secret_access_key, STAGEOUT_AWS_SECRET_ACCESS_KEY]
requirements:
  SchemaDefRequirement:
    types:
      - $import: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml
  NetworkAccess:
    networkAccess: true
  EnvVarRequirement:
    envDef:
      STAGEOUT_AWS_ACCESS_KEY_ID: $(inputs.STAGEOUT_AWS_ACCESS_KEY_ID)
      STAGEOUT_AWS_SECRET_ACCESS_KEY: $(inputs.STAGEOUT_AWS_SECRET_ACCESS_KEY)
      STAGEOUT_AWS_SERVICEURL: $(inputs.STAGEOUT_AWS_SERVICEURL)
      STAGEOUT_AWS_REGION: $(inputs.STAGEOUT_AWS_REGION)
      EOAP_AWS_ACCESS_KEY_ID: $(inputs.aws_access_key_id)
      EOAP_AWS_SECRET_ACCESS_KEY: $(inputs.aws_secret_access_key)
      EOAP_ENDPOINT_URL: $(inputs.endpoint_url)
      EOAP_REGION_NAME: $(inputs.region_name)
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
    default: ""
    label: Stage-out target
    doc: Directory (path or file://) or s3:// URL under which result catalogs are copied.
    inputBinding: {prefix: --target}
  STAGEOUT_OUTPUT:
    type: string
    default: ""
    label: S3 bucket (calrissian spelling)
    inputBinding: {prefix: --stageout-output}
  process:
    type: string
    default: ""
    label: Path in the STAGEOUT_OUTPUT bucket
    inputBinding: {prefix: --process}
  s3_bucket:
    type: string
    default: ""
    label: S3 bucket (eoap spelling)
    inputBinding: {prefix: --s3-bucket}
  sub_path:
    type: string
    default: ""
    label: Path in the s3_bucket bucket
    inputBinding: {prefix: --sub-path}
  aws_access_key_id: {type: string, default: "", label: S3 access key (eoap spelling)}
  aws_secret_access_key: {type: string, default: "", label: S3 secret key (eoap spelling)}
  endpoint_url: {type: string, default: "", label: S3 endpoint URL (eoap spelling)}
  region_name: {type: string, default: "", label: S3 region (eoap spelling)}
  STAGEOUT_AWS_ACCESS_KEY_ID: {type: string, default: "", label: S3 access key (calrissian)}
  STAGEOUT_AWS_SECRET_ACCESS_KEY: {type: string, default: "", label: S3 secret key (calrissian)}
  STAGEOUT_AWS_SERVICEURL: {type: string, default: "", label: S3 endpoint URL (calrissian)}
  STAGEOUT_AWS_REGION: {type: string, default: "", label: S3 region (calrissian)}
  catalog:
    type: Directory
    label: Result catalog
    doc: A Directory output of the application holding a STAC catalog.
    inputBinding: {prefix: --catalog}
outputs:
  stac_catalog:
    type: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml#URI
    doc: URI of the staged-out catalog.json.
