"""``cwl-dask plan``: print the resources of every step and the cluster a run needs.

Nothing runs; the sizing is :mod:`cwl_dask.clusters.sizing`'s, this is its command line.
"""

from __future__ import annotations

import logging
import sys

import click

from cwl_dask.cli.arguments import memory_option
from cwl_dask.cli.common import configure_logging, configured_imports, guarded, import_options


@click.command(
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
    callback=memory_option,
    show_default=True,
    help="RAM (MiB or e.g. 4GiB) assumed for such an expression.",
)
@click.option("--max-worker-cores", type=float, default=None, help="Largest worker: cores.")
@click.option(
    "--max-worker-memory",
    default=None,
    callback=memory_option,
    help="Largest worker: MiB or e.g. 8GiB.",
)
@click.option("--max-workers", type=click.IntRange(min=1), default=None, help="Most workers.")
@click.option(
    "--pool-waste",
    type=click.FloatRange(min=0, max=1),
    default=0.25,
    show_default=True,
    help="Largest idle share of a worker for two step shapes to share a pool (0: never).",
)
@click.option("--relax-path-checks", is_flag=True, help="Accept unusual file names.")
@click.option("--debug", is_flag=True, help="Tracebacks on errors.")
@import_options
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
    pool_waste: float,
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

    configure_logging(quiet=True, debug=debug)
    logging.getLogger("cwltool").setLevel(logging.DEBUG if debug else logging.WARNING)
    options = SizingOptions(
        default_width=default_width,
        fallback_cores=fallback_cores,
        fallback_ram_mib=fallback_memory,
        max_worker_cores=max_worker_cores,
        max_worker_memory_mib=max_worker_memory,
        max_workers=max_workers,
        pool_waste=pool_waste,
    )

    def action() -> int:
        from cwl_dask.documents.loading import load_process

        job_order = load_job_order(job) if job is not None else None
        imports = configured_imports(import_cache, offline)
        process = load_process(workflow, relax_path_checks=relax_path_checks, imports=imports)
        result = make_plan(process, job_order, options)
        click.echo(json.dumps(result.to_json(), indent=2) if as_json else format_plan(result))
        return 0

    sys.exit(guarded(debug, action))
