"""``cwl-dask run``: run a workflow on a Dask cluster and print its outputs as cwltool does.

The command checks the command line, builds the cluster backend (sizing it from the plan
when it creates the cluster), wraps the package first with ``--wrap``, and hands a
:class:`cwl_dask.api.RunRequest` to :func:`cwl_dask.api.run_request`, as the ZOO runner does.
Its options are declared in :mod:`cwl_dask.cli.run_options`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import sys
from typing import Any

import click

from cwl_dask.cli.common import configure_logging, configured_imports, guarded
from cwl_dask.cli.run_options import run_options

_logger = logging.getLogger("cwl_dask")


@click.command(
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
@run_options
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
    provenance: str | None,
    provenance_crate: str | None,
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
    dashboard_address: str | None,
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
    stac_processing: bool,
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
    from cwl_dask.documents.hostile import check_document
    from cwl_dask.documents.joborder import check_job_file
    from cwl_dask.documents.loading import resolve_entry
    from cwl_dask.driver.stopping import stop_on_signals
    from cwl_dask.errors import EXIT_INVALID, InvalidInputError

    handler = configure_logging(quiet, debug, json_lines=log_format == "json")
    if report_html is not None and importlib.util.find_spec("bokeh") is None:
        raise click.UsageError(
            "--report needs bokeh (Dask draws the report with it): "
            "pip install 'cwl-dask[dashboard]'"
        )
    if not workflow.strip():
        raise click.BadParameter("an empty string is no workflow", param_hint="WORKFLOW")
    if workflow.startswith("-"):
        raise click.UsageError(unknown_option(workflow))
    if code := guarded(
        debug, lambda: check_document(workflow) or check_job_file(list(job_args)) or 0
    ):
        sys.exit(code)
    if (stage_in or stage_out) and not wrap_package:
        raise click.UsageError("--stage-in and --stage-out need --wrap")
    imports = configured_imports(import_cache, offline)
    try:
        if wrap_package:
            # Workers that share no filesystem cannot stage out into a local --outdir:
            # then the default target is in the store (--outdir's, else --workdir's).
            staging_root = workdir if _is_url(workdir) and not _is_url(outdir) else outdir
            workflow, job_args = _wrapped_run(
                workflow, entry, stage_in, stage_out, job_args, str(staging_root)
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
            local_dashboard_address=dashboard_address,
            local_profile=dashboard or dashboard_address is not None or report_html is not None,
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
            provenance=provenance,
            provenance_crate=provenance_crate,
            stac_processing=stac_processing,
        )
        with reserved_stdout() as out, stop_on_signals(timeout, until_exit=True):
            result = run_request(request, out)
            if result.code == EXIT_INVALID and not result.started:
                hint = misplaced_options(request.workflow, request.job_args)
                if hint:
                    logging.getLogger("cwl_dask").error(hint)
            return result.code

    code = guarded(debug, action)
    if wrap_package:
        wrapped_dir = os.path.dirname(workflow.partition("#")[0])
        if code == 0:
            shutil.rmtree(wrapped_dir, ignore_errors=True)
        else:
            _logger.error("the wrapped document and its job order are kept in %s", wrapped_dir)
    sys.exit(code)


def _plan_cluster(
    workflow: str, job_args: list[str], relax_path_checks: bool, imports: Any = None
) -> Any:
    """The planner's Plan for a run (cluster spec and pools), from the document and the job
    file if any."""
    from cwl_dask.clusters.sizing import load_job_order, plan
    from cwl_dask.documents.loading import load_process

    job = job_args[0] if job_args and not job_args[0].startswith("-") else None
    process = load_process(workflow, relax_path_checks=relax_path_checks, imports=imports)
    import dask

    from cwl_dask.clusters.sizing import SizingOptions

    options = SizingOptions(pool_waste=float(dask.config.get("cwl-dask.pool-waste", 0.25)))
    return plan(process, load_job_order(job) if job else None, options)


def _is_url(value: str | None) -> bool:
    from cwl_dask.data.store import is_url

    return is_url(value)


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
