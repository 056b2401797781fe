"""The step graph of a workflow, as Graphviz DOT: ``cwl-dask graph``.

Built from cwltool's loaded process objects — steps, their ``in`` sources, scatter,
``when`` and sub-workflows — never from the YAML. Tool steps are boxes labelled with the
tool and its evaluated ``ResourceRequirement`` (via :mod:`cwl_dask.clusters.sizing`); a scattered
step is drawn stacked; a sub-workflow is a cluster holding its own steps, and the edges go
straight to the steps that consume the data, so the picture is the DAG Dask runs.
Workflow inputs and outputs are ellipses. With a usage report, steps are coloured by their
total run time (white to red) and labelled with their count and time.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cwltool.process import Process, shortname
from cwltool.utils import aslist
from cwltool.workflow import Workflow, WorkflowStep

from cwl_dask.errors import InvalidInputError


@dataclass
class StepGraph:
    """Nodes (id → attributes), edges (source, target) and clusters of a workflow."""

    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    clusters: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # id → label, members
    tool_steps: dict[str, str] = field(default_factory=dict)  # node id → step name (records)

    def edge(self, source: str, target: str, label: str) -> None:
        self.edges.setdefault((source, target), set()).add(label)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _resources(tool: Process) -> str:
    from cwl_dask.clusters.sizing import resource_request

    try:
        request = resource_request(tool)
    except Exception:
        return ""
    cores = "core" if request.cores == 1 else "cores"
    text = f"{request.cores:g} {cores}, {request.ram_mib} MiB"
    return text + (" (expression)" if request.notes else "")


class _Builder:
    def __init__(self) -> None:
        self.graph = StepGraph()

    def workflow(
        self,
        workflow: Workflow,
        prefix: str,
        inputs: Mapping[str, list[str]],
        cluster: str | None,
        scattered: bool = False,
    ) -> dict[str, list[str]]:
        """Add the steps of ``workflow``; return the producers of each of its outputs.

        ``inputs`` maps each workflow input id to the nodes that produce its value.
        """
        ports: dict[str, list[str]] = {
            inp["id"]: list(inputs.get(inp["id"], [])) for inp in workflow.tool["inputs"]
        }
        steps = {step.id: step for step in workflow.steps}
        visited: set[str] = set()

        def producers(source: str) -> list[str]:
            if source not in ports:
                step_id = source.rsplit("/", 1)[0]
                if step_id in steps and step_id not in visited:
                    visit(steps[step_id])
            return ports.get(source, [])

        def visit(step: WorkflowStep) -> None:
            visited.add(step.id)
            name = shortname(step.id)
            node = f"{prefix}/{name}" if prefix else name
            sources = {
                inp["id"]: [p for s in aslist(inp.get("source", [])) for p in producers(s)]
                for inp in step.tool["inputs"]
            }
            embedded = step.embedded_tool
            details = _step_details(step)
            if isinstance(embedded, Workflow):
                inner = {
                    sub["id"]: sources.get(f"{step.id}/{shortname(sub['id'])}", [])
                    for sub in embedded.tool["inputs"]
                }
                label = "\n".join(
                    [f"{name} (sub-workflow {shortname(embedded.tool['id'])})", *details]
                )
                self.graph.clusters[node] = (label, [])
                outputs = self.workflow(
                    embedded, node, inner, node, scattered or "scatter" in step.tool
                )
                for out in step.tool["outputs"]:
                    ports[out["id"]] = outputs.get(
                        next(
                            (
                                o["id"]
                                for o in embedded.tool["outputs"]
                                if shortname(o["id"]) == shortname(out["id"])
                            ),
                            "",
                        ),
                        [],
                    )
            else:
                kind = embedded.tool.get("class", "")
                lines = [name, f"{kind} {shortname(str(embedded.tool.get('id', '')))}".strip()]
                resources = _resources(embedded)
                if resources:
                    lines.append(resources)
                lines.extend(details)
                attributes = {"label": "\n".join(lines), "shape": "box"}
                if scattered or "scatter" in step.tool:
                    attributes["shape"] = "box3d"  # runs many times
                if "when" in step.tool:
                    attributes["style"] = "dashed"
                self.graph.nodes[node] = attributes
                self.graph.tool_steps[node] = name
                if cluster is not None:
                    self.graph.clusters[cluster][1].append(node)
                for inp_id, nodes in sources.items():
                    for source_node in nodes:
                        self.graph.edge(source_node, node, shortname(inp_id))
                for out in step.tool["outputs"]:
                    ports[out["id"]] = [node]

        for step in workflow.steps:
            if step.id not in visited:
                visit(step)
        return {
            out["id"]: [p for s in aslist(out.get("outputSource", [])) for p in producers(s)]
            for out in workflow.tool["outputs"]
        }


def _step_details(step: WorkflowStep) -> list[str]:
    details = []
    scatter = [shortname(s) for s in aslist(step.tool.get("scatter", []))]
    if scatter:
        method = step.tool.get("scatterMethod", "dotproduct")
        details.append(
            f"scatter over {', '.join(scatter)}" + (f" ({method})" if len(scatter) > 1 else "")
        )
    if "when" in step.tool:
        details.append(f"when {step.tool['when']}")
    return details


def step_graph(process: Process) -> StepGraph:
    """The graph of a loaded process (a lone tool is one node between its inputs and outputs)."""
    builder = _Builder()
    graph = builder.graph
    inputs: dict[str, list[str]] = {}
    for inp in process.tool["inputs"]:
        node = f"in:{shortname(inp['id'])}"
        graph.nodes[node] = {
            "label": shortname(inp["id"]),
            "shape": "ellipse",
            "style": "filled",
            "fillcolor": "#e8f0fe",
        }
        inputs[inp["id"]] = [node]
    if isinstance(process, Workflow):
        outputs = builder.workflow(process, "", inputs, None)
    else:
        name = shortname(str(process.tool.get("id", "tool")))
        lines = [name, process.tool.get("class", "")]
        if resources := _resources(process):
            lines.append(resources)
        graph.nodes[name] = {"label": "\n".join(lines), "shape": "box"}
        graph.tool_steps[name] = name
        for inp in process.tool["inputs"]:
            graph.edge(f"in:{shortname(inp['id'])}", name, shortname(inp["id"]))
        outputs = {out["id"]: [name] for out in process.tool["outputs"]}
    for out_id, producers in outputs.items():
        node = f"out:{shortname(out_id)}"
        graph.nodes[node] = {
            "label": shortname(out_id),
            "shape": "ellipse",
            "style": "filled",
            "fillcolor": "#e6f4ea",
        }
        for producer in producers:
            graph.edge(producer, node, shortname(out_id))
    return graph


def colour_by_duration(graph: StepGraph, seconds: Mapping[str, tuple[int, float]]) -> None:
    """Colour tool steps from white (fastest) to red (the most total time); add the times.

    ``seconds`` is {step name: (invocations, total seconds)} (see ``usage.step_seconds``);
    steps of sub-workflows are matched by their own name, as the records name them.
    """
    longest = max((total for _, total in seconds.values()), default=0.0) or 1.0
    for node, step in graph.tool_steps.items():
        attributes = graph.nodes[node]
        if step not in seconds:
            attributes["style"] = ",".join(filter(None, [attributes.get("style"), "dotted"]))
            attributes["label"] += "\nnot run"
            continue
        count, total = seconds[step]
        share = total / longest
        attributes["style"] = ",".join(filter(None, [attributes.get("style"), "filled"]))
        attributes["fillcolor"] = f"0.000 {share:.3f} 1.000"  # HSV: white -> red
        attributes["label"] += f"\n{count}x, {total:.1f} s total, {total / count:.1f} s mean"


def to_dot(graph: StepGraph, title: str = "") -> str:
    """The graph as Graphviz DOT text (left to right, clusters for sub-workflows)."""
    lines = ["digraph workflow {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f"  label={_quote(title)}; labelloc=t;")
    in_cluster = {n for _, members in graph.clusters.values() for n in members}

    def node_line(node: str, indent: str) -> str:
        attributes = ", ".join(f"{k}={_quote(v)}" for k, v in graph.nodes[node].items())
        return f"{indent}{_quote(node)} [{attributes}];"

    for node in graph.nodes:
        if node not in in_cluster:
            lines.append(node_line(node, "  "))
    for index, (cluster, (label, members)) in enumerate(graph.clusters.items()):
        lines.append(f"  subgraph cluster_{index} {{")
        lines.append(f'    label={_quote(label)}; style="rounded,dashed"; // {cluster}')
        lines.extend(node_line(node, "    ") for node in members)
        lines.append("  }")
    for (source, target), labels in graph.edges.items():
        label = _quote(", ".join(sorted(labels)))
        lines.append(f"  {_quote(source)} -> {_quote(target)} [label={label}, fontsize=8];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(dot: str, output: Path | None) -> str:
    """Write DOT text, or render it with Graphviz's ``dot`` for .svg/.png/.pdf; say what was done.

    Without ``dot`` on PATH, a picture request writes the DOT text next to it instead.
    """
    if output is None:
        return ""
    fmt = output.suffix.lower().lstrip(".")
    if fmt in ("dot", "gv", ""):
        output.write_text(dot, encoding="utf-8")
        return f"wrote {output}"
    if fmt not in ("svg", "png", "pdf"):
        raise InvalidInputError(f"{output}: use a .dot, .svg, .png or .pdf file name")
    binary = shutil.which("dot")
    if binary is None:
        fallback = output.with_suffix(".dot")
        fallback.write_text(dot, encoding="utf-8")
        return (
            f"Graphviz's `dot` is not installed: wrote the DOT text to {fallback} "
            f"(render it with `dot -T{fmt} {fallback} -o {output}`)"
        )
    done = subprocess.run(
        [binary, f"-T{fmt}", "-o", str(output)],
        input=dot.encode(),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise InvalidInputError(f"dot could not render {output}: {done.stderr.decode().strip()}")
    return f"wrote {output}"
