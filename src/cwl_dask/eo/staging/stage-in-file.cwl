#!/usr/bin/env cwl-runner
# cwl-dask's default stage-in of File inputs (eoap-cwlwrap contract: one URI input, one File output).
#
# Downloads the file a URI names (local path, file://, http(s)://, s3:// when fsspec
# and s3fs are importable) as ./<its base name>: eoap-cwlwrap's stage-in for File inputs.
#
# S3 credentials and endpoint may come as inputs in either spelling a ZOO-Project
# platform uses: calrissian's STAGEIN_AWS_* (EOEPCA's service template) or eoap's
# aws_access_key_id/aws_secret_access_key/endpoint_url/region_name (zoo-template-common).
# eoap-cwlwrap adds them to the wrapped #main; they default to "" (then s3fs reads the
# AWS_* variables). They reach the script as environment variables, never on its
# command line, and are cwltool secrets (placeholders in logs).
#
# The script (stage_in.py, next to this file) is included into the tool; it needs a
# Python 3 with pystac. `cwl-dask run --wrap` runs it with cwl-dask's own interpreter;
# `cwl-dask wrap` writes `python3` (see --staging-python in docs/staging.md).
cwlVersion: v1.2
class: CommandLineTool
id: stage-in-file
label: Stage in a file
doc: Downloads the file a URL or path names.
$namespaces:
  cwltool: http://commonwl.org/cwltool#
hints:
  cwltool:Secrets:
    secrets: [aws_secret_access_key, STAGEIN_AWS_SECRET_ACCESS_KEY]
requirements:
  SchemaDefRequirement:
    types:
      - $import: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml
  NetworkAccess:
    networkAccess: true
  EnvVarRequirement:
    envDef:
      STAGEIN_AWS_ACCESS_KEY_ID: $(inputs.STAGEIN_AWS_ACCESS_KEY_ID)
      STAGEIN_AWS_SECRET_ACCESS_KEY: $(inputs.STAGEIN_AWS_SECRET_ACCESS_KEY)
      STAGEIN_AWS_SERVICEURL: $(inputs.STAGEIN_AWS_SERVICEURL)
      STAGEIN_AWS_REGION: $(inputs.STAGEIN_AWS_REGION)
      EOAP_AWS_ACCESS_KEY_ID: $(inputs.aws_access_key_id)
      EOAP_AWS_SECRET_ACCESS_KEY: $(inputs.aws_secret_access_key)
      EOAP_ENDPOINT_URL: $(inputs.endpoint_url)
      EOAP_REGION_NAME: $(inputs.region_name)
  InitialWorkDirRequirement:
    listing:
      - entryname: stage_in.py
        entry:
          $include: stage_in.py
  ResourceRequirement:
    coresMin: 1
    ramMin: 256
baseCommand: [python3, stage_in.py, --file]
inputs:
  reference:
    type: https://raw.githubusercontent.com/eoap/schemas/main/string_format.yaml#URI
    label: File reference
    doc: URL or path of the file.
    inputBinding:
      valueFrom: $(self.value)
  aws_access_key_id: {type: string, default: "", label: S3 access key (eoap spelling)}
  aws_secret_access_key: {type: string, default: "", label: S3 secret key (eoap spelling)}
  endpoint_url: {type: string, default: "", label: S3 endpoint URL (eoap spelling)}
  region_name: {type: string, default: "", label: S3 region (eoap spelling)}
  STAGEIN_AWS_ACCESS_KEY_ID: {type: string, default: "", label: S3 access key (calrissian)}
  STAGEIN_AWS_SECRET_ACCESS_KEY: {type: string, default: "", label: S3 secret key (calrissian)}
  STAGEIN_AWS_SERVICEURL: {type: string, default: "", label: S3 endpoint URL (calrissian)}
  STAGEIN_AWS_REGION: {type: string, default: "", label: S3 region (calrissian)}
outputs:
  staged:
    type: File
    doc: The downloaded file.
