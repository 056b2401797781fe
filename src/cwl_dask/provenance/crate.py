"""The Workflow Run RO-Crate (Provenance Run Crate profile) of a cwl-dask research object.

Built from the research object's folder alone (``workflow/packed.cwl``, ``data/`` and the
invocations cwl-dask keeps in it, :data:`~cwl_dask.provenance.recorder.RUN_FILE`), so that
``cwl-dask run --provenance-crate`` and ``cwl-dask provenance DIR --crate`` give the same
crate. Written with ro-crate-py (``rocrate``). runcrate, the converter from CWLProv, is not
used: it pins ``cwl-utils==0.40`` where cwltool needs ``>=0.44`` (one environment cannot
hold both), and it fails on cwltool's own research object of a scattered sub-workflow
(``plan.id`` of ``None``).

One ``CreateAction`` per tool invocation, its ``instrument`` the tool in the packed
workflow (``workflow/packed.cwl#ndvi``), its ``object`` and ``result`` the files it used and
made, each named by its SHA-1 in the crate (``data/dd/dd89…``, cwltool's layout); the
requested cores and RAM and the Dask worker are ``PropertyValue`` s in ``resourceUsage``,
the image of a contained run its ``containerImage``. Each is the ``object`` of a
``ControlAction`` whose ``instrument`` is its workflow step (a ``HowToStep``). One
``CreateAction`` for the workflow run (``instrument`` the packed workflow), the ``result``
of cwl-dask's ``OrganizeAction``, whose ``object`` is the ControlActions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cwl_dask.errors import InvalidInputError
from cwl_dask.provenance.recorder import RUN_FILE

PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": "Process Run Crate",
    "https://w3id.org/ro/wfrun/workflow/0.5": "Workflow Run Crate",
    "https://w3id.org/ro/wfrun/provenance/0.5": "Provenance Run Crate",
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": "Workflow RO-Crate",
}
_STATUS = {"success": "CompletedActionStatus"}


def read_run(ro_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The invocations cwl-dask recorded in the research object ``ro_dir``."""
    path = Path(ro_dir, RUN_FILE)
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise InvalidInputError(
            f"{ro_dir}: not a research object of cwl-dask run --provenance (no {RUN_FILE})"
        ) from None
    except (OSError, ValueError) as err:
        raise InvalidInputError(f"{path}: cannot be read: {err}") from err


class _Builder:
    """One crate being built: entities are made once per id, files once per checksum."""

    def __init__(self, ro_dir: Path) -> None:
        from rocrate.rocrate import ROCrate

        self.ro_dir = ro_dir
        self.crate = ROCrate()
        self.files: dict[str, Any] = {}

    def entity(self, identifier: str, properties: dict[str, Any]) -> Any:
        from rocrate.model.contextentity import ContextEntity

        found = self.crate.get(identifier)
        return found or self.crate.add(ContextEntity(self.crate, identifier, properties))

    def data(self, entry: dict[str, Any]) -> Any | None:
        """The crate's File (by checksum) or Dataset of one recorded input or output."""
        if entry["class"] == "Directory":
            parts = [p for p in (self.data(child) for child in entry["files"]) if p is not None]
            identifier = "#" + str(entry.get("id") or entry["basename"]).replace("urn:uuid:", "")
            return self.entity(
                identifier, {"@type": "Dataset", "name": entry["basename"], "hasPart": parts}
            )
        sha1 = entry.get("sha1")
        if not sha1:
            return None
        found = self.files.get(sha1)
        if found is None:
            dest = f"data/{sha1[:2]}/{sha1}"
            source = self.ro_dir / dest
            properties = {"sha1": sha1, "alternateName": entry["basename"]}
            if source.is_file():
                properties["contentSize"] = str(source.stat().st_size)
                found = self.crate.add_file(str(source), dest, properties=properties)
            else:  # not in the research object's data: named, not carried
                found = self.entity(f"#sha1-{sha1}", {"@type": "File", **properties})
            self.files[sha1] = found
        return found

    def all_data(self, entries: list[dict[str, Any]]) -> list[Any]:
        return [d for d in (self.data(e) for e in entries) if d is not None]


def build(ro_dir: str | os.PathLike[str], zip_path: str | os.PathLike[str]) -> int:
    """Write the crate of research object ``ro_dir`` to ``zip_path``; returns its actions."""
    run = read_run(ro_dir)
    builder = _Builder(Path(ro_dir))
    crate = builder.crate
    crate.root_dataset["conformsTo"] = [{"@id": uri} for uri in PROFILES]
    for uri, name in PROFILES.items():
        builder.entity(uri, {"@type": "CreativeWork", "name": name, "version": uri[-3:]})
    workflow = crate.add_workflow(
        str(Path(ro_dir, "workflow", "packed.cwl")), "workflow/packed.cwl", main=True, lang="cwl"
    )
    flow = run["workflow"]
    packed = json.loads(Path(ro_dir, "workflow", "packed.cwl").read_text(encoding="utf-8"))
    step_ids = _step_ids(packed)
    for inv in run["invocations"]:
        if not inv["tool"] or inv["tool"].startswith("_:"):  # inline: packed.cwl#main/shout/run
            step_id = step_ids.get((inv["step"], ""))
            inv["tool"] = f"{step_id}/run" if step_id else inv["step"]
    # A lone tool: the run of the workflow and of the tool are one (cwltool gives them one id).
    steps = [inv for inv in run["invocations"] if inv["run"] != flow["run"]]
    tools = {
        inv["tool"]: builder.entity(
            f"workflow/packed.cwl#{inv['tool']}",
            {"@type": "SoftwareApplication", "name": inv["tool"]},
        )
        for inv in steps
    }
    if tools:
        workflow["hasPart"] = list(tools.values())
    actions = [_invocation_action(builder, inv, tools[inv["tool"]]) for inv in steps]
    controls = _control_actions(builder, workflow, step_ids, steps, tools, actions)
    lone = [inv for inv in run["invocations"] if inv["run"] == flow["run"]]
    if lone:
        workflow_action = _invocation_action(builder, lone[-1], workflow)
        actions.append(workflow_action)
    else:
        workflow_action = _workflow_action(builder, flow, workflow)
    _action(
        builder,
        "#organize-" + flow["run"].replace("urn:uuid:", ""),
        {
            "@type": "OrganizeAction",
            "instrument": _engine(builder, run["engine"]),
            "object": controls,
            "result": workflow_action,
        },
    )
    crate.root_dataset["mentions"] = [workflow_action]
    crate.write_zip(str(zip_path))
    return len(actions)


def _engine(builder: _Builder, engine: dict[str, str]) -> Any:
    return builder.entity(
        "#cwl-dask",
        {
            "@type": "SoftwareApplication",
            "name": "cwl-dask",
            "softwareVersion": engine["cwl-dask"],
            "description": f"cwltool {engine['cwltool']} on Dask {engine['dask']}",
        },
    )


def _workflow_action(builder: _Builder, flow: dict[str, Any], workflow: Any) -> Any:
    """The run of the packed workflow: its inputs and final outputs, by checksum."""
    return _action(
        builder,
        "#" + flow["run"].replace("urn:uuid:", ""),
        _run_properties(builder, "Run of workflow/packed.cwl#main", workflow, flow),
    )


def _run_properties(builder: _Builder, name: str, instrument: Any, run: dict[str, Any]) -> dict:
    """What every CreateAction of the crate says: what ran, on what, giving what, when."""
    return {
        "name": name,
        "instrument": instrument,
        "object": builder.all_data(run["inputs"]),
        "result": builder.all_data(run["outputs"]),
        "startTime": run["started"],
        "endTime": run["finished"],
        "actionStatus": _status(run["status"]),
    }


def _step_ids(packed: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(step name, tool id) -> the step's id in packed.cwl (``process_item/ndvi``).

    A tool written inline in its step has no id of its own: it is ``<step id>/run``, as
    its inputs are named in packed.cwl, and also found under (step name, "")."""
    found: dict[tuple[str, str], str] = {}
    processes = list(packed.get("$graph", [packed]))
    while processes:
        process = processes.pop()
        for step in process.get("steps", []):
            run, step_id = step.get("run"), str(step["id"]).lstrip("#")
            name = step_id.rsplit("/", 1)[-1]
            if isinstance(run, str):
                found[(name, run.lstrip("#"))] = step_id
            elif isinstance(run, dict):
                found[(name, f"{step_id}/run")] = found[(name, "")] = step_id
                processes.append(run)  # an inline sub-workflow's steps
    return found


def _control_actions(
    builder: _Builder,
    workflow: Any,
    step_ids: dict[tuple[str, str], str],
    invocations: list[dict[str, Any]],
    tools: dict[str, Any],
    actions: list[Any],
) -> list[Any]:
    """One ControlAction per invocation: the workflow step (a HowToStep of the workflow,
    or of the sub-workflow, that holds it) that orchestrated the tool's CreateAction."""
    holders: dict[str, Any] = {"main": workflow}
    controls = []
    for inv, action in zip(invocations, actions, strict=True):
        step_id = step_ids.get((inv["step"], inv["tool"]))
        if step_id is None:
            continue
        parent = step_id.split("/", 1)[0]
        holder = holders.get(parent)
        if holder is None:
            holder = holders[parent] = builder.entity(
                f"workflow/packed.cwl#{parent}",
                {
                    "@type": ["SoftwareApplication", "ComputationalWorkflow", "HowTo"],
                    "name": parent,
                },
            )
            workflow.append_to("hasPart", holder)
        step = builder.crate.get(f"workflow/packed.cwl#{step_id}")
        if step is None:
            step = builder.entity(
                f"workflow/packed.cwl#{step_id}",
                {"@type": "HowToStep", "name": step_id, "workExample": tools[inv["tool"]]},
            )
            holder.append_to("step", step)
        controls.append(
            builder.entity(
                f"#control-{inv['run'].replace('urn:uuid:', '')}",
                {"@type": "ControlAction", "instrument": step, "object": action},
            )
        )
    return controls


def _status(status: str) -> dict[str, str]:
    return {"@id": "http://schema.org/" + _STATUS.get(status, "FailedActionStatus")}


def _action(builder: _Builder, identifier: str, properties: dict[str, Any]) -> Any:
    return builder.entity(identifier, {"@type": "CreateAction", **properties})


def _invocation_action(builder: _Builder, inv: dict[str, Any], tool: Any) -> Any:
    """The CreateAction of one tool invocation, with what ran it and what it asked for."""
    key = inv["run"].replace("urn:uuid:", "")
    usage = []
    for name, value in (
        ("cores requested", inv.get("cores")),
        ("RAM requested (MiB)", inv.get("ram_mib")),
        ("Dask worker", inv.get("worker") or None),
    ):
        if value is not None:
            usage.append(
                builder.entity(
                    f"#{key}-{len(usage)}", {"@type": "PropertyValue", "name": name, "value": value}
                )
            )
    properties: dict[str, Any] = {
        **_run_properties(builder, f"Run of workflow/packed.cwl#main/{inv['name']}", tool, inv),
        "resourceUsage": usage,
    }
    if inv.get("exit_code") is not None:
        properties["exitCode"] = inv["exit_code"]
    if inv.get("image"):
        properties["containerImage"] = builder.entity(
            f"#image-{inv['image']}",
            {
                "@type": "ContainerImage",
                "additionalType": {"@id": "https://w3id.org/ro/terms/workflow-run#DockerImage"},
                "name": inv["image"],
            },
        )
    return _action(builder, f"#{key}", properties)
