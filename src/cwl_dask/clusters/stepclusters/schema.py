"""The extension's names and schema, and teaching them to cwltool.

Apart from the parsing because it is needed at a different time: once, when documents are
loaded (:mod:`cwl_dask.documents.schemas`), so that cwltool accepts the requirement under
``requirements`` as well as ``hints``.
"""

from __future__ import annotations

REQUIREMENT = "DaskGatewayRequirement"
NAMESPACE = "https://calrissian-cwl.github.io/schema#"
URI = NAMESPACE + REQUIREMENT


#: cwltool versions whose schema gets the extension (the documents' and the internal one).
_SCHEMA_VERSIONS = ("v1.0", "v1.1", "v1.2", "v1.3.0-dev1")

_SCHEMA = f"""\
$base: "{NAMESPACE}"
$namespaces:
  cwl: "https://w3id.org/cwl/cwl#"
$graph:
- $import: https://w3id.org/cwl/CommonWorkflowLanguage.yml
- name: {REQUIREMENT}
  type: record
  extends: cwl:ProcessRequirement
  inVocab: false
  doc: |
    A Dask cluster the tool uses while it runs, created before and shut down after each
    invocation (calrissian's extension). Every field is required; cwl-dask checks them
    itself, so that a wrong value is reported with the step's name.
  fields:
    class:
      type: string
      jsonldPredicate: {{_id: "@type", _type: "@vocab"}}
    workerCores: {{type: Any?, doc: "cores of a worker (int or expression)"}}
    workerCoresLimit: {{type: Any?, doc: "core limit of a worker (int or expression)"}}
    workerMemory: {{type: Any?, doc: "memory of a worker, e.g. 4G (string or expression)"}}
    clusterMaxCores: {{type: Any?, doc: "cores of all workers together (int or expression)"}}
    clusterMaxMemory: {{type: Any?, doc: "memory of all workers together, e.g. 16G"}}
    clusterMaxCore: {{type: Any?, doc: "old spelling of clusterMaxCores"}}
    gateway_url: {{type: Any?, doc: "read by zoo-calrissian-runner; ignored by cwl-dask"}}
    configmap: {{type: Any?, doc: "read by zoo-calrissian-runner; ignored by cwl-dask"}}
"""


def register_schema() -> None:
    """Make cwltool accept the requirement: its schema, and its name as supported.

    cwltool's hook for extension schemas is ``use_custom_schema`` (through ``cwltool.main``'s
    ``custom_schema_callback``); its list of supported requirements is the module-level
    ``supportedProcessRequirements``, which calrissian extends the same way. Idempotent.
    """
    from cwltool import process

    for version in _SCHEMA_VERSIONS:
        if process.custom_schemas.get(version) != (NAMESPACE.rstrip("#"), _SCHEMA):
            process.use_custom_schema(version, NAMESPACE.rstrip("#"), _SCHEMA)
    if URI not in process.supportedProcessRequirements:
        process.supportedProcessRequirements.append(URI)
