"""The ``cwl-dask`` command line.

Only argument handling lives here: each command builds a request and calls the module that
does the work. Errors cwl-dask raises on purpose are printed as one short message and mapped
to their exit code; tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cwl_dask.cli.arguments import memory_option as _memory
from cwl_dask.errors import EXIT_FAILED, CwlDaskError, RunStopped

_logger = logging.getLogger("cwl_dask")

EXIT_INTERRUPTED = 130


def _configure_logging(quiet: bool, debug: bool, json_lines: bool = False) -> logging.Handler:
    from cwl_dask.observe.progress import StderrHandler

    handler = StderrHandler(json_lines)
    _logger.handlers[:] = [handler]
    _logger.propagate = False
    _logger.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    return handler


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from cwl_dask.driver.launch import version

    click.echo(version())
    ctx.exit()


def _say(message: str) -> None:
    """An error line on stderr; a JSON object like every other line with --log-format json."""
    if any(getattr(handler, "json_lines", False) for handler in _logger.handlers):
        _logger.error(message)
    else:
        click.echo(message, err=True)


def _guarded(debug: bool, action: Callable[[], int]) -> int:
    """Run ``action``; turn errors into a message and an exit code."""
    try:
        return action()
    except CwlDaskError as err:
        if debug:
            raise
        _say(f"cwl-dask: error: {err}")
        return err.exit_code
    except RunStopped as err:
        click.echo(f"cwl-dask: {err}", err=True)
        return err.exit_code
    except KeyboardInterrupt:
        _say("cwl-dask: interrupted")
        return EXIT_INTERRUPTED
    except Exception as err:
        if debug:
            raise
        _say(f"cwl-dask: internal error: {type(err).__name__}: {err} (see --debug)")
        return EXIT_FAILED


def _plan_cluster(
    workflow: str, job_args: list[str], relax_path_checks: bool, imports: Any = None
) -> Any:
    """The planner's ClusterSpec for a run, from the document and the job file if any."""
    from cwl_dask.clusters.sizing import load_job_order, plan
    from cwl_dask.documents.loading import load_process

    job = job_args[0] if job_args and not job_args[0].startswith("-") else None
    process = load_process(workflow, relax_path_checks=relax_path_checks, imports=imports)
    return plan(process, load_job_order(job) if job else None).spec


def _import_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--import-cache`` and ``--offline``, shared by every command that loads documents."""
    command = click.option(
        "--offline",
        is_flag=True,
        help="Never fetch remote $import/$include/$schemas/run: documents; one missing "
        "from the import cache is an error (exit 2). Dask config: cwl-dask.offline.",
    )(command)
    return click.option(
        "--import-cache",
        default=None,
        metavar="DIR",
        help="Cache of remote documents the package loads (default: Dask config "
        "cwl-dask.import-cache, else the user cache dir, e.g. ~/.cache/cwl-dask/imports).",
    )(command)


def _imports(import_cache: str | None, offline: bool) -> Any:
    from cwl_dask.documents.imports import ImportCache

    return ImportCache.configured(import_cache, offline)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""Examples:

\b
  cwl-dask run --outdir out cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml
  cwl-dask run --report report.html --usage-report usage.json pkg.cwl#main job.yml
  cwl-dask plan cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml
  cwl-dask graph cwl-samples/eo-ndvi/app-package.cwl -o wf.svg
  cwl-dask validate pkg.cwl

\b
Shell completion (bash; zsh and fish likewise with zsh_source/fish_source):
  eval "$(_CWL_DASK_COMPLETE=bash_source cwl-dask)"
""",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the versions of cwl-dask, cwltool and Dask, and exit.",
)
def cli() -> None:
    """Run CWL workflows and EO Application Packages on Dask."""


@cli.command(
    context_settings={"ignore_unknown_options": True},
    epilog="""Examples:

\b
  cwl-dask run --outdir out cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml
  cwl-dask run --outdir out cwl-samples/hello/hello.cwl --message "Hi"
  cwl-dask run --scheduler tcp://10.0.0.5:8786 --workdir /shared/runs pkg.cwl#main job.yml
  cwl-dask run --gateway https://gateway.example.org --worker-cores 4 --worker-memory 16GiB \
      --max-workers 10 --workdir /shared/runs pkg.cwl#main job.yml
  cwl-dask run --cluster mysite.clusters:slurm --workdir /shared/runs pkg.cwl#main job.yml
  cwl-dask run --report report.html --usage-report usage.json --log-format json \
      cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml 2> run.log
""",
)
@click.argument("workflow")
@click.argument("job_args", nargs=-1, type=click.UNPROCESSED, metavar="[JOB] [--INPUT VALUE]...")
@click.option("--outdir", default=".", show_default=True, help="Where final outputs go.")
@click.option(
    "--workdir",
    default=None,
    help="Parent of the run's intermediate files; must be shared by all workers. "
    "Default: a temporary directory, removed on success and kept on failure.",
)
@click.option(
    "--overwrite/--no-overwrite",
    default=True,
    help="Replace entries of --outdir that have an output's name, as cwltool does "
    "(default); or refuse an --outdir that has entries, before anything runs (exit 2).",
)
@click.option(
    "--on-error",
    type=click.Choice(["stop", "continue"]),
    default="stop",
    show_default=True,
    help="After a step fails: stop submitting, or finish the independent branches "
    "(their outputs are written to --outdir; the exit code is still 1).",
)
@click.option(
    "--retry-tool",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Run an invocation that ends in temporaryFail (temporaryFailCodes) up to N more times.",
)
@click.option(
    "--cachedir",
    default=None,
    metavar="DIR",
    help="Reuse invocations whose tool, inputs and requirements are unchanged (cwltool's "
    "--cachedir); must be visible to every worker.",
)
@click.option("--quiet", is_flag=True, help="Only warnings and errors on stderr (no bars).")
@click.option("--debug", is_flag=True, help="Verbose logs and tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="stderr as text, or one JSON object per line (no bars).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bars per step (default: when stderr is a terminal), else one line per event.",
)
@click.option(
    "--report",
    "report_html",
    default=None,
    metavar="FILE.html",
    help="Write Dask's performance report of the run, with the per-step summary.",
)
@click.option(
    "--usage-report",
    default=None,
    metavar="FILE.json",
    help="Write the usage report (per invocation and per step; the ZOO runner's shape).",
)
@click.option(
    "--logs-dir",
    default=None,
    metavar="DIR",
    help="Where each invocation's log is kept (default: OUTDIR/.cwl-dask/logs).",
)
@click.option(
    "--no-container",
    "container",
    flag_value="none",
    help="Run tools on the host; DockerRequirement under 'requirements' is unsupported (33).",
)
@click.option("--podman", "container", flag_value="podman", help="Run containers with podman.")
@click.option(
    "--singularity", "container", flag_value="singularity", help="Run containers with singularity."
)
@click.option(
    "--docker",
    "container",
    flag_value="docker",
    help="Run containers with docker. Default: docker or podman, whichever answers, else none.",
)
@click.option(
    "--relax-path-checks", is_flag=True, help="Accept file names with unusual characters."
)
@click.option(
    "--entry",
    default=None,
    metavar="ID",
    help="The process of a $graph to run (default: #main, else the first Workflow).",
)
@click.option(
    "--wrap",
    "wrap_package",
    is_flag=True,
    help="Run the package wrapped as a platform does: #main = stage-in -> entry -> stage-out "
    "(see `cwl-dask wrap`); Directory inputs become STAC URI records.",
)
@click.option("--stage-in", default=None, metavar="CWL", help="With --wrap: stage-in tool.")
@click.option("--stage-out", default=None, metavar="CWL", help="With --wrap: stage-out tool.")
@click.option(
    "--cores",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Cores of the local cluster (default: all).",
)
@click.option(
    "--memory",
    default=None,
    callback=_memory,
    help="Memory of the local cluster, MiB or e.g. 8GiB (default: all).",
)
@click.option(
    "--worker-processes",
    is_flag=True,
    help="Run the local cluster's worker in its own process (default: in this process).",
)
@click.option(
    "--dashboard",
    is_flag=True,
    help="Serve the local cluster's Dask dashboard (needs bokeh; remote clusters have theirs).",
)
@click.option(
    "--scheduler", default=None, help="Address of a running Dask scheduler to use instead."
)
@click.option("--gateway", default=None, help="Create the cluster on this Dask Gateway (URL).")
@click.option(
    "--gateway-auth",
    type=click.Choice(["basic", "kerberos", "jupyterhub"]),
    default=None,
    help="Gateway authentication (default: Dask config gateway.auth.type).",
)
@click.option(
    "--gateway-cluster", default=None, help="Use this running gateway cluster (left running)."
)
@click.option("--keep-cluster", is_flag=True, help="Leave the new gateway cluster running.")
@click.option(
    "--cluster",
    "cluster_factory",
    default=None,
    metavar="MODULE:FACTORY",
    help="Create the cluster with this factory (any Dask cluster class; see the README).",
)
@click.option(
    "--worker-cores",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Cores of each worker of a created (gateway, --cluster) cluster "
    "(default: the largest step's request, see `cwl-dask plan`).",
)
@click.option(
    "--worker-memory",
    default=None,
    callback=_memory,
    help="Memory of each such worker, MiB or e.g. 16GiB (default: from the plan).",
)
@click.option(
    "--min-workers",
    type=click.IntRange(min=0),
    default=None,
    help="Fewest workers (default: from the plan).",
)
@click.option(
    "--max-workers",
    type=click.IntRange(min=1),
    default=None,
    help="Most workers (default: the widest parallelism of the plan).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Stop the whole run after this long: cancel its tasks, kill its tools, exit 1.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=None,
    help="Times a task is re-run after its worker died (local cluster; default: Dask's "
    "distributed.scheduler.allowed-failures, 3).",
)
@click.option(
    "--stac",
    is_flag=True,
    help="After success, check the STAC catalogs among the outputs and print a summary "
    "on stderr; a broken catalog exits 1.",
)
@click.option(
    "--stac-collection",
    default=None,
    metavar="ID",
    callback=lambda _ctx, _param, value: _collection_id(value),
    help="With --stac (implied): also write OUTDIR/ID.json, a Collection of all items.",
)
@_import_options
def run(
    workflow: str,
    job_args: tuple[str, ...],
    outdir: str,
    workdir: str | None,
    overwrite: bool,
    on_error: str,
    retry_tool: int,
    cachedir: str | None,
    quiet: bool,
    debug: bool,
    log_format: str,
    progress: bool | None,
    report_html: str | None,
    usage_report: str | None,
    logs_dir: str | None,
    container: Any,
    relax_path_checks: bool,
    entry: str | None,
    wrap_package: bool,
    stage_in: str | None,
    stage_out: str | None,
    cores: float | None,
    memory: float | None,
    worker_processes: bool,
    dashboard: bool,
    scheduler: str | None,
    gateway: str | None,
    gateway_auth: str | None,
    gateway_cluster: str | None,
    keep_cluster: bool,
    cluster_factory: str | None,
    worker_cores: float | None,
    worker_memory: float | None,
    min_workers: int | None,
    max_workers: int | None,
    timeout: float | None,
    retries: int | None,
    stac: bool,
    stac_collection: str | None,
    import_cache: str | None,
    offline: bool,
) -> None:
    """Run WORKFLOW (a .cwl file, path#id for one process of a $graph) with JOB.

    Prints the output object as JSON on stdout, as cwltool does. Exit codes: 0 success,
    1 the workflow failed (or --timeout), 2 invalid document/input/usage, 33 unsupported
    requirement, 130/143 interrupted (SIGINT/SIGTERM).
    """
    from cwl_dask.api import RunRequest, run_request
    from cwl_dask.cli.arguments import misplaced_options, unknown_option
    from cwl_dask.cli.stdio import reserved_stdout
    from cwl_dask.clusters import make_backend
    from cwl_dask.documents.joborder import check_job_file
    from cwl_dask.documents.loading import resolve_entry
    from cwl_dask.driver.stopping import stop_on_signals
    from cwl_dask.errors import EXIT_INVALID, InvalidInputError

    handler = _configure_logging(quiet, debug, json_lines=log_format == "json")
    if report_html is not None and importlib.util.find_spec("bokeh") is None:
        raise click.UsageError(
            "--report needs bokeh (Dask draws the report with it): "
            "pip install 'cwl-dask[dashboard]'"
        )
    if not workflow.strip():
        raise click.BadParameter("an empty string is no workflow", param_hint="WORKFLOW")
    if workflow.startswith("-"):
        raise click.UsageError(unknown_option(workflow))
    if code := _guarded(debug, lambda: check_job_file(list(job_args)) or 0):
        sys.exit(code)
    if (stage_in or stage_out) and not wrap_package:
        raise click.UsageError("--stage-in and --stage-out need --wrap")
    imports = _imports(import_cache, offline)
    try:
        if wrap_package:
            workflow, job_args = _wrapped_run(
                workflow, entry, stage_in, stage_out, job_args, outdir
            )
        else:
            workflow = resolve_entry(workflow, entry)
        backend = make_backend(
            scheduler=scheduler,
            gateway=gateway,
            gateway_auth=gateway_auth,
            gateway_cluster=gateway_cluster,
            keep_cluster=keep_cluster,
            cluster=cluster_factory,
            worker_cores=worker_cores,
            worker_memory_mib=worker_memory,
            min_workers=min_workers,
            max_workers=max_workers,
            local_cores=cores,
            local_memory_mib=memory,
            local_processes=worker_processes,
            retries=retries,
            local_dashboard=dashboard,
            local_profile=dashboard or report_html is not None,
            planner=lambda: _plan_cluster(workflow, list(job_args), relax_path_checks, imports),
        )
    except InvalidInputError as err:
        raise click.UsageError(str(err)) from None

    def action() -> int:
        from cwl_dask.driver.engines import detect_engine
        from cwl_dask.observe.events import Observers
        from cwl_dask.observe.progress import make_display
        from cwl_dask.observe.runreport import RunReport

        display = make_display(log_format, quiet, progress)
        report = RunReport(
            report_html, usage_report, print_summary=not quiet, json_lines=log_format == "json"
        )
        request = RunRequest(
            workflow=workflow,
            backend=backend,
            job_args=list(job_args),
            outdir=outdir,
            workdir=workdir,
            quiet=quiet,
            debug=debug,
            container=container or detect_engine(),
            container_detected=container is None,
            relax_path_checks=relax_path_checks,
            stac=stac or stac_collection is not None,
            stac_collection=stac_collection,
            on_error=on_error,
            retry_tool=retry_tool,
            cachedir=cachedir,
            overwrite=overwrite,
            logs_dir=logs_dir,
            observer=Observers([display, report]),
            log_handler=handler,
            preserve_environment=_staging_environment() if wrap_package else [],
            imports=imports,
        )
        with reserved_stdout() as out, stop_on_signals(timeout):
            result = run_request(request, out)
            if result.code == EXIT_INVALID and not result.started:
                hint = misplaced_options(request.workflow, request.job_args)
                if hint:
                    logging.getLogger("cwl_dask").error(hint)
            return result.code

    code = _guarded(debug, action)
    if wrap_package:
        wrapped_dir = os.path.dirname(workflow.partition("#")[0])
        if code == 0:
            shutil.rmtree(wrapped_dir, ignore_errors=True)
        else:
            _logger.error("the wrapped document and its job order are kept in %s", wrapped_dir)
    sys.exit(code)


def _staging_environment() -> list[str]:
    from cwl_dask.eo.wrap import STAGING_ENVIRONMENT

    return [name for name in STAGING_ENVIRONMENT if name in os.environ]


def _wrapped_run(
    package: str,
    entry: str | None,
    stage_in: str | None,
    stage_out: str | None,
    job_args: tuple[str, ...],
    outdir: str,
) -> tuple[str, tuple[str, ...]]:
    """``run --wrap``: the wrapped document and its job order, written to a temp directory.

    The default staging tools run with this interpreter (it has pystac, and s3fs when the
    extra is installed); the job's URI inputs are normalised and a stage-out target
    defaults to OUTDIR/staged-out (see :func:`cwl_dask.eo.wrap.wrapped_job`).
    """
    import json
    import tempfile

    from cwl_dask.clusters.sizing import load_job_order
    from cwl_dask.eo.wrap import wrap_package, wrapped_job, write_wrapped

    document = wrap_package(package, entry, stage_in, stage_out, python=sys.executable)
    directory = tempfile.mkdtemp(prefix="cwl-dask-wrapped-")
    wrapped = os.path.join(directory, "wrapped.cwl")
    write_wrapped(document, wrapped)
    has_job = bool(job_args) and not job_args[0].startswith("-")
    job = load_job_order(job_args[0]) if has_job else {}
    base = os.path.dirname(os.path.abspath(job_args[0])) if has_job else os.getcwd()
    job_file = os.path.join(directory, "job.json")
    with open(job_file, "w", encoding="utf-8") as handle:
        json.dump(wrapped_job(document, job, base, outdir), handle, indent=2)
    _logger.info("wrapped %s into %s (job %s)", package, wrapped, job_file)
    rest = job_args[1:] if has_job else job_args
    return f"{wrapped}#main", (job_file, *rest)


@cli.command(
    "wrap",
    epilog="""Examples:

\b
  cwl-dask wrap cwl-samples/patterns/app-package.cwl -o wrapped.cwl
  cwl-dask wrap --entry water-bodies --stage-in my-stage-in.cwl pkg.cwl -o wrapped.cwl
  cwl-dask run wrapped.cwl#main job.yml
""",
)
@click.argument("package")
@click.option("--entry", default=None, metavar="ID", help="Entry Workflow of a $graph.")
@click.option(
    "--stage-in", default=None, metavar="CWL", help="Stage-in tool (default: cwl-dask's)."
)
@click.option(
    "--stage-out", default=None, metavar="CWL", help="Stage-out tool (default: cwl-dask's)."
)
@click.option(
    "--staging-python",
    default="python3",
    show_default=True,
    help="Interpreter of the default staging tools; it needs pystac (and s3fs for s3://).",
)
@click.option(
    "-o", "--output", default="-", show_default=True, help="Where to write the wrapped document."
)
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def wrap_command(
    package: str,
    entry: str | None,
    stage_in: str | None,
    stage_out: str | None,
    staging_python: str,
    output: str,
    debug: bool,
) -> None:
    """Wrap PACKAGE's entry Workflow in a #main that stages its data in and out.

    As EO platforms (ZOO-Project, with eoap-cwlwrap) do: every Directory input becomes a
    STAC reference (an eoap URI record) resolved by a stage-in step, every Directory
    output is published by a stage-out step and becomes the URI of its catalog; other
    inputs and outputs pass through. The result is one packed $graph that runs offline.
    """
    from cwl_dask.eo.wrap import wrap_package, write_wrapped

    _configure_logging(quiet=True, debug=debug)

    def action() -> int:
        document = wrap_package(package, entry, stage_in, stage_out, python=staging_python)
        write_wrapped(document, output)
        return 0

    sys.exit(_guarded(debug, action))


@cli.command(
    epilog="""Examples:

\b
  cwl-dask validate cwl-samples/eo-ndvi/app-package.cwl
  cwl-dask validate --app-package cwl-samples/eo-ndvi/app-package.cwl
  cwl-dask validate --app-package --json pkg.cwl#water-bodies
""",
)
@click.argument("workflow")
@click.option(
    "--app-package",
    is_flag=True,
    help="Also check the OGC EO Application Package Best Practice (OGC 20-089r1) and print "
    "each rule it breaks as a warning, with the rule's text. Never an error.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--relax-path-checks", is_flag=True, help="Accept unusual file names.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
@_import_options
def validate(
    workflow: str,
    app_package: bool,
    as_json: bool,
    relax_path_checks: bool,
    debug: bool,
    import_cache: str | None,
    offline: bool,
) -> None:
    """Validate WORKFLOW with cwltool and print a one-screen summary of it.

    A $graph without #id is validated as `cwl-dask run` would run it (#main, else its first
    Workflow). Exit codes: 0 valid (Best Practice warnings included), 2 invalid.
    """
    import json

    from cwl_dask.documents.bestpractice import check, describe_warnings, load_package
    from cwl_dask.documents.summary import describe

    _configure_logging(quiet=True, debug=debug)
    logging.getLogger("cwltool").setLevel(logging.DEBUG if debug else logging.WARNING)

    def action() -> int:
        imports = _imports(import_cache, offline)
        package = load_package(workflow, relax_path_checks=relax_path_checks, imports=imports)
        warnings = check(package) if app_package else []
        if as_json:
            result: dict[str, Any] = {
                "valid": True,
                "entry": package.entry_id,
                "processes": package.graph,
            }
            if app_package:
                result["app_package"] = {"warnings": [w.to_json() for w in warnings]}
            click.echo(json.dumps(result, indent=2))
            return 0
        click.echo(describe(package.entry))
        if app_package:
            click.echo("")
            click.echo(describe_warnings(warnings))
        return 0

    sys.exit(_guarded(debug, action))


@cli.command(
    epilog="""Examples:

\b
  cwl-dask plan cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml
  cwl-dask plan --json --max-worker-cores 4 --max-worker-memory 8GiB pkg.cwl#main job.yml
""",
)
@click.argument("workflow")
@click.argument("job", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--default-width",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Invocations assumed for a scatter whose length is not known up front.",
)
@click.option(
    "--fallback-cores",
    type=click.FloatRange(min=0, min_open=True),
    default=2,
    show_default=True,
    help="Cores assumed for a resource expression that cannot be evaluated up front.",
)
@click.option(
    "--fallback-memory",
    default="4096",
    callback=_memory,
    show_default=True,
    help="RAM (MiB or e.g. 4GiB) assumed for such an expression.",
)
@click.option("--max-worker-cores", type=float, default=None, help="Largest worker: cores.")
@click.option(
    "--max-worker-memory", default=None, callback=_memory, help="Largest worker: MiB or e.g. 8GiB."
)
@click.option("--max-workers", type=click.IntRange(min=1), default=None, help="Most workers.")
@click.option("--relax-path-checks", is_flag=True, help="Accept unusual file names.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
@_import_options
def plan(
    workflow: str,
    job: str | None,
    as_json: bool,
    default_width: int,
    fallback_cores: float,
    fallback_memory: float,
    max_worker_cores: float | None,
    max_worker_memory: float | None,
    max_workers: int | None,
    relax_path_checks: bool,
    debug: bool,
    import_cache: str | None,
    offline: bool,
) -> None:
    """Print the cores, RAM and width of every step of WORKFLOW and the cluster it needs.

    With JOB (a YAML/JSON job order) scatter widths and resource expressions are computed
    from the inputs; without it, they are assumed (see --default-width, --fallback-*).
    Nothing runs.
    """
    import json

    from cwl_dask.clusters.sizing import SizingOptions, format_plan, load_job_order
    from cwl_dask.clusters.sizing import plan as make_plan

    _configure_logging(quiet=True, debug=debug)
    logging.getLogger("cwltool").setLevel(logging.DEBUG if debug else logging.WARNING)
    options = SizingOptions(
        default_width=default_width,
        fallback_cores=fallback_cores,
        fallback_ram_mib=fallback_memory,
        max_worker_cores=max_worker_cores,
        max_worker_memory_mib=max_worker_memory,
        max_workers=max_workers,
    )

    def action() -> int:
        from cwl_dask.documents.loading import load_process

        job_order = load_job_order(job) if job is not None else None
        imports = _imports(import_cache, offline)
        process = load_process(workflow, relax_path_checks=relax_path_checks, imports=imports)
        result = make_plan(process, job_order, options)
        click.echo(json.dumps(result.to_json(), indent=2) if as_json else format_plan(result))
        return 0

    sys.exit(_guarded(debug, action))


def _collection_id(value: str | None) -> str | None:
    """``--stac-collection``: a STAC id that is also a plain file name in OUTDIR."""
    if value is not None and (not value or "/" in value or value.startswith(".")):
        raise click.BadParameter(f"{value!r}: a collection id is a file name (no '/', no '.')")
    return value


@cli.command(
    "stac",
    epilog="""Examples:

\b
  cwl-dask stac out/
  cwl-dask stac --json out/catalog/catalog.json
""",
)
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def stac_command(target: Path, as_json: bool, debug: bool) -> None:
    """Check the STAC catalogs of a finished run: TARGET is its --outdir or a STAC file.

    Every catalog.json (or collection.json) under TARGET is checked as `run --stac` does:
    links and assets must resolve to local files. Exit codes: 0 all good, 1 a catalog is
    broken (the message names the file and the href), 2 no STAC found.
    """
    import json

    from cwl_dask.eo.stac import check_directory

    _configure_logging(quiet=True, debug=debug)

    def action() -> int:
        report = check_directory(target)
        click.echo(json.dumps(report.to_json(), indent=2) if as_json else report.describe())
        return 0

    sys.exit(_guarded(debug, action))


@cli.command(
    "graph",
    epilog="""Examples:

\b
  cwl-dask graph cwl-samples/eo-ndvi/app-package.cwl              # DOT text on stdout
  cwl-dask graph cwl-samples/eo-ndvi/app-package.cwl -o wf.png
  cwl-dask run --usage-report usage.json pkg.cwl job.yml
  cwl-dask graph pkg.cwl --run usage.json -o run.svg    # coloured by step run time
""",
)
@click.argument("workflow")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file: .dot (text), or .svg/.png/.pdf rendered with Graphviz's dot "
    "(without dot: the DOT text next to it). Default: DOT text on stdout.",
)
@click.option(
    "--run",
    "usage",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    metavar="USAGE_REPORT.json",
    help="Colour the steps by their run time in this usage report (run --usage-report, "
    "or a ZOO run's report.json).",
)
@click.option("--entry", default=None, metavar="ID", help="The process of a $graph to draw.")
@click.option("--relax-path-checks", is_flag=True, help="Accept unusual file names.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
@_import_options
def graph_command(
    workflow: str,
    output: Path | None,
    usage: Path | None,
    entry: str | None,
    relax_path_checks: bool,
    debug: bool,
    import_cache: str | None,
    offline: bool,
) -> None:
    """Draw the step graph of WORKFLOW: scatter, sub-workflows and resources visible.

    Tool steps are boxes labelled with their tool and cores/RAM (stacked when scattered,
    dashed when conditional); sub-workflows are dashed frames around their steps.
    """
    import json

    from cwl_dask.documents.loading import load_process, resolve_entry
    from cwl_dask.errors import InvalidInputError
    from cwl_dask.observe.graph import colour_by_duration, step_graph, to_dot, write
    from cwl_dask.observe.usage import step_seconds

    _configure_logging(quiet=True, debug=debug)
    logging.getLogger("cwltool").setLevel(logging.DEBUG if debug else logging.WARNING)

    def action() -> int:
        process = load_process(
            resolve_entry(workflow, entry),
            relax_path_checks=relax_path_checks,
            imports=_imports(import_cache, offline),
        )
        graph = step_graph(process)
        if usage is not None:
            try:
                report = json.loads(usage.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise InvalidInputError(f"{usage}: not a usage report: {err}") from err
            colour_by_duration(graph, step_seconds(report))
        dot = to_dot(graph, title=str(process.tool.get("label") or ""))
        if output is None:
            click.echo(dot, nl=False)
        else:
            click.echo(write(dot, output), err=True)
        return 0

    sys.exit(_guarded(debug, action))


@cli.command(
    "fetch-imports",
    epilog="""Examples:

\b
  cwl-dask fetch-imports pkg.cwl
  cwl-dask fetch-imports --import-cache /shared/cwl-imports pkg.cwl#main
  cwl-dask run --offline --import-cache /shared/cwl-imports pkg.cwl job.yml
""",
)
@click.argument("workflow")
@click.option("--import-cache", default=None, metavar="DIR", help="The cache to fill.")
@click.option("--relax-path-checks", is_flag=True, help="Accept unusual file names.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
def fetch_imports(
    workflow: str, import_cache: str | None, relax_path_checks: bool, debug: bool
) -> None:
    """Load WORKFLOW and put every remote document it needs into the import cache.

    Without #id, every Workflow of a $graph is loaded, so that any entry can run offline.
    Remote $import, $include, $schemas and run: URLs are fetched (or found in the cache)
    and listed on stdout, one per line: "fetched URL", "cached URL" or "failed URL".
    Afterwards `run/validate/plan --offline` load WORKFLOW without network access.
    Exit codes: 0 all there, 1 a URL could not be fetched, 2 invalid document.
    """
    from cwl_dask.cli.fetching import fetch_imports as fetch

    _configure_logging(quiet=True, debug=debug)
    logging.getLogger("cwltool").setLevel(logging.DEBUG if debug else logging.WARNING)

    def action() -> int:
        return fetch(workflow, _imports(import_cache, False), relax_path_checks)

    sys.exit(_guarded(debug, action))


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
