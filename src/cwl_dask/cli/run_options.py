"""The options of ``cwl-dask run``, declared apart from what the command does with them.

``run`` takes some forty options (output, logging, containers, wrapping, the local cluster,
remote clusters, limits, STAC); their declarations alone are longer than the command. Kept
here, in the order ``--help`` lists them, they leave :mod:`cwl_dask.cli.run` about running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from cwl_dask.cli.arguments import memory_option
from cwl_dask.cli.common import import_options


def _collection_id(value: str | None) -> str | None:
    """``--stac-collection``: a STAC id that is also a plain file name in OUTDIR."""
    if value is not None and (not value or "/" in value or value.startswith(".")):
        raise click.BadParameter(f"{value!r}: a collection id is a file name (no '/', no '.')")
    return value


#: ``run``'s options after its arguments, in the order of ``--help`` (applied last to first,
#: as decorators stacked in this order would be).
_OPTIONS: list[Callable[[Callable[..., Any]], Callable[..., Any]]] = [
    click.option(
        "--outdir",
        default=".",
        show_default=True,
        help="Where final outputs go: a directory, or s3://bucket/prefix (kept in the store).",
    ),
    click.option(
        "--workdir",
        default=None,
        help="Parent of the run's intermediate files; must be shared by all workers. "
        "Default: a temporary directory, removed on success and kept on failure. "
        "An s3://bucket/prefix URL puts them in object storage: no shared filesystem needed.",
    ),
    click.option(
        "--overwrite/--no-overwrite",
        default=True,
        help="Replace entries of --outdir that have an output's name, as cwltool does "
        "(default); or refuse an --outdir that has entries, before anything runs (exit 2).",
    ),
    click.option(
        "--on-error",
        type=click.Choice(["stop", "continue"]),
        default="stop",
        show_default=True,
        help="After a step fails: stop submitting, or finish the independent branches "
        "(their outputs are written to --outdir; the exit code is still 1).",
    ),
    click.option(
        "--retry-tool",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        metavar="N",
        help="Run an invocation that ends in temporaryFail (temporaryFailCodes) "
        "up to N more times.",
    ),
    click.option(
        "--cachedir",
        default=None,
        metavar="DIR|URL",
        help="Reuse the results of invocations whose command line, input contents, tool and "
        "container are unchanged: a folder every worker sees, or a URL (s3://bucket/prefix).",
    ),
    click.option("--quiet", is_flag=True, help="Only warnings and errors on stderr (no bars)."),
    click.option("--debug", is_flag=True, help="Verbose logs and tracebacks."),
    click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="stderr as text, or one JSON object per line (no bars).",
    ),
    click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress bars per step (default: when stderr is a terminal), "
        "else one line per event.",
    ),
    click.option(
        "--report",
        "report_html",
        default=None,
        metavar="FILE.html",
        help="Write Dask's performance report of the run, with the per-step summary.",
    ),
    click.option(
        "--usage-report",
        default=None,
        metavar="FILE.json",
        help="Write the usage report (per invocation and per step; the ZOO runner's shape).",
    ),
    click.option(
        "--provenance",
        default=None,
        metavar="DIR",
        help="Save the run's CWLProv research object in DIR (cwltool's option): every tool "
        "invocation with its worker, times, resources and checksummed inputs/outputs.",
    ),
    click.option(
        "--provenance-crate",
        default=None,
        metavar="FILE.zip",
        help="Write the run's Workflow Run RO-Crate (Provenance Run Crate profile) to FILE.zip.",
    ),
    click.option(
        "--logs-dir",
        default=None,
        metavar="DIR",
        help="Where each invocation's log is kept (default: OUTDIR/.cwl-dask/logs).",
    ),
    click.option(
        "--no-container",
        "container",
        flag_value="none",
        help="Run tools on the host; DockerRequirement under 'requirements' is unsupported (33).",
    ),
    click.option("--podman", "container", flag_value="podman", help="Run containers with podman."),
    click.option(
        "--singularity",
        "container",
        flag_value="singularity",
        help="Run containers with singularity.",
    ),
    click.option(
        "--docker",
        "container",
        flag_value="docker",
        help="Run containers with docker. Default: docker or podman, whichever answers, else none.",
    ),
    click.option(
        "--relax-path-checks", is_flag=True, help="Accept file names with unusual characters."
    ),
    click.option(
        "--entry",
        default=None,
        metavar="ID",
        help="The process of a $graph to run (default: #main, else the first Workflow).",
    ),
    click.option(
        "--wrap",
        "wrap_package",
        is_flag=True,
        help="Run the package wrapped as a platform does: #main = stage-in -> entry -> stage-out "
        "(see `cwl-dask wrap`); Directory inputs become STAC URI records.",
    ),
    click.option("--stage-in", default=None, metavar="CWL", help="With --wrap: stage-in tool."),
    click.option("--stage-out", default=None, metavar="CWL", help="With --wrap: stage-out tool."),
    click.option(
        "--cores",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Cores of the local cluster (default: all).",
    ),
    click.option(
        "--memory",
        default=None,
        callback=memory_option,
        help="Memory of the local cluster, MiB or e.g. 8GiB (default: all).",
    ),
    click.option(
        "--worker-processes",
        is_flag=True,
        help="Run the local cluster's worker in its own process (default: in this process).",
    ),
    click.option(
        "--dashboard",
        is_flag=True,
        help="Serve the local cluster's Dask dashboard (needs bokeh; remote clusters have theirs).",
    ),
    click.option(
        "--dashboard-address",
        default=None,
        metavar="HOST:PORT",
        help="Serve the local cluster's dashboard there (implies --dashboard; default "
        "127.0.0.1 on a free port). It has no authentication: 0.0.0.0 opens it to the network.",
    ),
    click.option(
        "--scheduler",
        default=None,
        help="Address of a running Dask scheduler to use instead. A tls:// one needs Dask's "
        "TLS config: distributed.comm.tls.ca-file, .client.cert and .client.key "
        "(YAML, or DASK_DISTRIBUTED__COMM__TLS__CA_FILE etc.).",
    ),
    click.option("--gateway", default=None, help="Create the cluster on this Dask Gateway (URL)."),
    click.option(
        "--gateway-auth",
        type=click.Choice(["basic", "kerberos", "jupyterhub"]),
        default=None,
        help="Gateway authentication (default: Dask config gateway.auth.type).",
    ),
    click.option(
        "--gateway-cluster", default=None, help="Use this running gateway cluster (left running)."
    ),
    click.option("--keep-cluster", is_flag=True, help="Leave the new gateway cluster running."),
    click.option(
        "--cluster",
        "cluster_factory",
        default=None,
        metavar="MODULE:FACTORY",
        help="Create the cluster with this factory (any Dask cluster class; see docs/backends.md).",
    ),
    click.option(
        "--worker-cores",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        help="Cores of each worker of a created (gateway, --cluster) cluster "
        "(default: the largest step's request, see `cwl-dask plan`).",
    ),
    click.option(
        "--worker-memory",
        default=None,
        callback=memory_option,
        help="Memory of each such worker, MiB or e.g. 16GiB (default: from the plan).",
    ),
    click.option(
        "--min-workers",
        type=click.IntRange(min=0),
        default=None,
        help="Fewest workers (default: from the plan).",
    ),
    click.option(
        "--max-workers",
        type=click.IntRange(min=1),
        default=None,
        help="Most workers (default: the widest parallelism of the plan).",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="SECONDS",
        help="Stop the whole run after this long: cancel its tasks, kill its tools, exit 1.",
    ),
    click.option(
        "--retries",
        type=click.IntRange(min=0),
        default=None,
        help="Times a task is re-run after its worker died (local cluster; default: Dask's "
        "distributed.scheduler.allowed-failures, 3).",
    ),
    click.option(
        "--stac",
        is_flag=True,
        help="After success, check the STAC catalogs among the outputs and print a summary "
        "on stderr; a broken catalog exits 1.",
    ),
    click.option(
        "--stac-collection",
        default=None,
        metavar="ID",
        callback=lambda _ctx, _param, value: _collection_id(value),
        help="With --stac (implied): also write OUTDIR/ID.json, a Collection of all items.",
    ),
    click.option(
        "--stac-processing",
        is_flag=True,
        help="Add the STAC processing extension to each Item of the STAC outputs: the package, "
        "its s:softwareVersion, the run id (and a rel=via link to --provenance-crate).",
    ),
    import_options,
]


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add every option of ``cwl-dask run`` to ``command``."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
