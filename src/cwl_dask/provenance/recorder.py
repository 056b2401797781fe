"""Records every tool invocation in cwltool's research object, from the driver.

cwltool records a tool's run where it runs it: ``SingleJobExecutor`` starts a process run
(``ProvenanceProfile.start_process``) and ``JobBase._execute`` adds what the job used
(``used_artefacts``) and generated (``record_process_end``). In cwl-dask the job runs on a
worker, which has no research object; what it ships back (the :class:`Outcome`: outputs
with the checksums cwltool computed there, start/end time, exit code, worker address) is
enough for the driver to make the same calls, on the same profile (the enclosing
workflow's), once the outcome is in — with the worker's times instead of the driver's.

Nothing here reads a worker's directory: files are read, to be put under ``data/`` by
checksum, through the run's ``make_fs_access`` at the locations of the output object, as
cwltool's profile does — so a filesystem access that reads object-store locations serves
provenance too. Workflow-level provenance (prospective plan, workflow inputs, nested
workflows, final outputs) stays cwltool's, called as its executor calls it.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import logging
import urllib.parse
import uuid
import warnings
from collections.abc import MutableMapping, MutableSequence
from typing import Any, Protocol

from prov.model import PROV, PROV_LABEL, PROV_TYPE

_logger = logging.getLogger("cwl_dask")

#: The run's invocations as the crate needs them, kept in the research object.
RUN_FILE = "metadata/cwl-dask-run.json"
#: Namespace of the attributes cwltool's PROV has no term for (worker, resources, exit code).
NAMESPACE = ("cwldask", "https://w3id.org/cwl-dask/prov#")


class Job(Protocol):
    """What the recorder needs of a :class:`~cwl_dask.driver.tool.RemoteJob`."""

    name: str
    step: str
    tool: Any
    job_order: Any

    def resource_request(self) -> dict[str, float]: ...


class Outcome(Protocol):
    """What the recorder needs of a worker's :class:`~cwl_dask.worker.invocation.Outcome`."""

    status: str
    output: dict[str, Any] | None
    started: float | None
    finished: float | None
    exit_code: int | None
    worker: str
    image: str


def plain_scalars(value: Any) -> Any:
    """Replace ruamel's ``ScalarFloat``/``ScalarInt``/``ScalarBoolean`` by builtins, in place.

    Job files and document defaults are loaded by ruamel, and rdflib's JSON-LD serializer
    (orjson) refuses float subclasses: cwltool's own ``--provenance`` fails with "Type is not
    JSON serializable: ScalarFloat" on any float input. In place, because cwltool's profile
    marks the very File objects it records (``@id``), which flow on to the next steps.
    """
    if isinstance(value, MutableMapping):
        for key, item in value.items():
            value[key] = plain_scalars(item)
    elif isinstance(value, MutableSequence):
        for index, item in enumerate(value):
            value[index] = plain_scalars(item)
    elif isinstance(value, bool) and type(value) is not bool:
        return bool(value)
    elif isinstance(value, int) and type(value) not in (int, bool):
        return int(value)
    elif isinstance(value, float) and type(value) is not float:
        return float(value)
    return value


def _when(epoch: float | None) -> datetime.datetime:
    """cwltool's PROV times are local, naive ``datetime.now()``; the worker's epoch likewise."""
    return datetime.datetime.fromtimestamp(epoch) if epoch is not None else datetime.datetime.now()


def files_of(value: Any, role: str) -> list[dict[str, Any]]:
    """The File and Directory objects in a CWL value, as the crate names them (by checksum)."""
    if isinstance(value, MutableSequence):
        return [f for item in value for f in files_of(item, role)]
    if not isinstance(value, MutableMapping):
        return []
    match value.get("class"):
        case "File":
            checksum = str(value.get("checksum", ""))
            entry = {
                "role": role,
                "class": "File",
                "id": value.get("@id"),
                "basename": value.get("basename"),
                "sha1": checksum[5:] if checksum.startswith("sha1$") else None,
                "size": value.get("size"),
            }
            secondary = [
                f for item in value.get("secondaryFiles", []) for f in files_of(item, role)
            ]
            return [entry, *secondary]
        case "Directory":
            listing = [f for item in value.get("listing", []) for f in files_of(item, role)]
            return [
                {
                    "role": role,
                    "class": "Directory",
                    "id": value.get("@id"),
                    "basename": value.get("basename"),
                    "files": listing,
                }
            ]
        case _:
            return [f for item in value.values() for f in files_of(item, role)]


def tool_id(tool: Any) -> str:
    """The tool's id in ``workflow/packed.cwl`` (its fragment: ``ndvi`` for ``…#ndvi``);
    "" for a tool written inline in its step (``_:…``), which the crate names by its step."""
    raw = str(tool.tool.get("id", ""))
    if raw.startswith("_:"):
        return ""
    return raw.split("#", 1)[1] if "#" in raw else raw.rsplit("/", 1)[-1]


class ProvenanceRecorder:
    """Fills the research object of one run; driver thread only, as cwltool's callbacks."""

    def __init__(self, research_obj: Any, process: Any, runtime_context: Any) -> None:
        # rdflib warns on each N-Triples file cwltool's profile writes (UTF-8 is what it wants).
        warnings.filterwarnings("ignore", "NTSerializer always uses UTF-8", UserWarning)
        self.research_obj = research_obj
        self.process = process
        self.fsaccess = runtime_context.make_fs_access("")
        self.started = datetime.datetime.now()
        self.invocations: list[dict[str, Any]] = []
        self.job_order: Any = None  # the workflow's inputs
        self._workers: set[tuple[int, str]] = set()
        self._lone_tool = not hasattr(process, "steps")
        if self._lone_tool:
            # A lone tool has no workflow profile: make the one cwltool's SingleJobExecutor
            # makes (one run: research object, workflow run and tool run share one UUID).
            process.provenance_object = research_obj.initialize_provenance(
                full_name=runtime_context.cwl_full_name,
                host_provenance=runtime_context.prov_host,
                user_provenance=runtime_context.prov_user,
                orcid=runtime_context.orcid,
                run_uuid=research_obj.ro_uuid,
                fsaccess=self.fsaccess,
            )
            process.parent_wf = process.provenance_object

    def workflow_job(self, job: Any, job_order: Any) -> None:
        """A WorkflowJob cwltool handed the executor: its plan and inputs, as cwltool's
        executor records them (``ProvenanceProfile.evaluate``)."""
        profile = getattr(job, "prov_obj", None)
        if profile is None:
            return
        plain_scalars(job_order)
        profile.fsaccess = self.fsaccess
        profile.evaluate(self.process, job, job_order, self.research_obj)
        if self.job_order is None and job.tool is self.process.tool:
            self.job_order = job_order

    def invocation(self, job: Job, resources: dict[str, float] | None, outcome: Outcome) -> None:
        """One invocation a worker ran: its process run, what it used and generated."""
        profile = self._profile(job)
        if profile is None:
            return
        profile.fsaccess = self.fsaccess
        # What the tool asked for: Dask's annotation, or (a cluster of unknown worker size
        # gets none) cwltool's evaluation of its ResourceRequirement.
        resources = resources or job.resource_request()
        job_order = plain_scalars(job.job_order)
        name = urllib.parse.quote(job.name, safe=":/,#")
        if self._lone_tool:
            profile.evaluate(self.process, job, job_order, self.research_obj)
            run_id = profile.workflow_run_uri
        else:
            run_id = profile.start_process(name, _when(outcome.started))
        profile.used_artefacts(job_order, run_id, job.name)
        self._describe(profile, run_id, resources, outcome)
        output = plain_scalars(outcome.output) if outcome.output else {}
        profile.record_process_end(job.name, run_id, output, _when(outcome.finished))
        self.invocations.append(
            {
                "name": job.name,
                "step": job.step,
                "tool": tool_id(job.tool),
                "run": run_id,
                "status": outcome.status,
                "started": _when(outcome.started).isoformat(),
                "finished": _when(outcome.finished).isoformat(),
                "exit_code": outcome.exit_code,
                "worker": outcome.worker,
                "image": outcome.image or None,
                "cores": (resources or {}).get("cores"),
                "ram_mib": (resources or {}).get("ram"),
                "inputs": [f for key, v in job_order.items() for f in files_of(v, key)],
                "outputs": [f for key, v in output.items() for f in files_of(v, key)],
            }
        )

    def _profile(self, job: Job) -> Any:
        """The profile cwltool would record this job in: the enclosing workflow's."""
        if self._lone_tool:
            return getattr(self.process, "provenance_object", None)
        return getattr(job.tool, "prov_obj", None)

    def _describe(
        self, profile: Any, run_id: str, resources: dict[str, float] | None, outcome: Outcome
    ) -> None:
        """What cwltool's PROV has no term for: the worker (an agent), resources, exit code."""
        document = profile.document
        namespace = document.add_namespace(*NAMESPACE)
        attributes: dict[Any, Any] = {namespace["status"]: outcome.status}
        for key, value in (resources or {}).items():
            attributes[namespace["ramMiB" if key == "ram" else key]] = float(value)
        if outcome.exit_code is not None:
            attributes[namespace["exitCode"]] = int(outcome.exit_code)
        if outcome.worker:
            attributes[namespace["worker"]] = outcome.worker
            agent = uuid.uuid5(uuid.NAMESPACE_URL, outcome.worker).urn
            if (id(profile), agent) not in self._workers:
                self._workers.add((id(profile), agent))
                document.agent(
                    agent,
                    {PROV_TYPE: PROV["SoftwareAgent"], PROV_LABEL: f"Dask worker {outcome.worker}"},
                )
            document.wasAssociatedWith(run_id, agent)
        if outcome.image:  # as cwltool's job records it where the container runs
            container = document.agent(
                uuid.uuid4().urn,
                {
                    PROV_TYPE: PROV["SoftwareAgent"],
                    "cwlprov:image": outcome.image,
                    PROV_LABEL: f"Container execution of image {outcome.image}",
                },
            )
            document.wasAssociatedWith(run_id, container)
        document.activity(run_id, other_attributes=attributes)

    def finish(self, output: Any, status: str) -> None:
        """Keep the run's invocations in the research object, for the crate."""
        from importlib.metadata import version

        from cwltool.cwlprov.writablebagfile import write_bag_file
        from cwltool.process import compute_checksums
        from cwltool.utils import visit_class

        # cwltool's profile checksums a copy of the workflow's inputs: the crate needs them.
        inputs = copy.deepcopy(self.job_order or {})
        visit_class(inputs, ("File",), functools.partial(compute_checksums, self.fsaccess))
        record = {
            "engine": {
                "cwl-dask": version("cwl-dask"),
                "cwltool": version("cwltool"),
                "dask": version("distributed"),
            },
            "workflow": {
                "run": uuid.UUID(str(self.research_obj.ro_uuid)).urn,
                "status": status,
                "started": self.started.isoformat(),
                "finished": datetime.datetime.now().isoformat(),
                "inputs": [f for k, v in inputs.items() for f in files_of(v, k)],
                "outputs": [f for k, v in (output or {}).items() for f in files_of(v, k)],
            },
            "invocations": self.invocations,
        }
        with write_bag_file(self.research_obj, RUN_FILE) as handle:
            handle.write(json.dumps(record, indent=2))
