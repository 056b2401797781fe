"""A fully cached EO sample run (``--cachedir``) against its start-up, beside cwltool's cache.

    python -m benchmarks.cache                      # eo-ndvi without containers, 3 cached passes
    python -m benchmarks.cache --engine podman      # cwl-dask only as root (see below)

Each runner gets a fresh cache, runs the sample once to fill it (the "first" column), then
``--reps`` times again, fully cached, alternating with the other runner. For cwl-dask the
cached pass is split with its usage report: the span of its invocations (first start to
last finish, each one a restored entry) and everything else, the start-up (loading the
package, starting the local cluster, collecting the outputs, stopping). The figure the
issue asks for is that span: a fully cached run takes at most its start-up + 1 s.
cwltool cannot run containers with rootful podman (its ``--userns=keep-id``), so with
``--engine podman`` as root only cwl-dask is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.__main__ import _executable, measure

SAMPLE = Path(__file__).resolve().parent.parent / "cwl-samples" / "eo-ndvi"
ENGINES = {"podman": "--podman", "docker": "--docker", "no-container": "--no-container"}


def _command(runner: str, engine: str, cache: Path, outdir: Path, usage: Path) -> list[str]:
    package, job = str(SAMPLE / "app-package.cwl"), str(SAMPLE / "params.yml")
    flags = [ENGINES[engine], "--cachedir", str(cache), "--outdir", str(outdir)]
    if runner == "cwl-dask":
        base = [sys.executable, "-m", "cwl_dask", "run", "--quiet", "--usage-report", str(usage)]
        return [*base, *flags, package, job]
    return [str(_executable("cwltool")), "--quiet", *flags, package, job]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=sorted(ENGINES), default="no-container")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    rootful_podman = args.engine == "podman" and os.geteuid() == 0
    with_cwltool = _executable("cwltool") and not rootful_podman
    runners = ["cwl-dask"] + (["cwltool"] if with_cwltool else [])
    work = Path(tempfile.mkdtemp(prefix="cwl-dask-bench-cache-"))
    first: dict[str, float] = {}
    cached: dict[str, list[float]] = {r: [] for r in runners}
    spans: list[float] = []
    for rep in range(args.reps + 1):
        for runner in runners if rep % 2 == 0 else reversed(runners):
            run_dir = work / f"{runner}-{rep}"
            run_dir.mkdir()
            usage = run_dir / "usage.json"
            cmd = _command(runner, args.engine, work / f"cache-{runner}", run_dir / "out", usage)
            sample = measure(cmd, str(run_dir), timeout=900)
            if not sample.ok:
                sys.exit(f"{runner} failed ({sample.note}); see {run_dir}/stderr.txt")
            if rep == 0:
                first[runner] = sample.wall
                continue
            cached[runner].append(sample.wall)
            if runner == "cwl-dask":
                report = json.loads(usage.read_text())
                if report["cache_hits"] != report["total_tasks"]:
                    sys.exit(f"cwl-dask ran tools on a cached pass; see {usage}")
                spans.append(float(report["elapsed_seconds"]))
    print(f"eo-ndvi, {args.engine}, median of {args.reps} fully cached passes (seconds)")
    print(f"{'runner':<10} {'first':>7} {'cached':>7}")
    for runner in runners:
        print(f"{runner:<10} {first[runner]:7.2f} {statistics.median(cached[runner]):7.2f}")
    wall, span = statistics.median(cached["cwl-dask"]), statistics.median(spans)
    verdict = "within" if span <= 1.0 else "NOT within"
    print(f"cwl-dask cached: {wall:.2f} s = start-up {wall - span:.2f} s + invocations "
          f"{span:.2f} s ({verdict} start-up + 1 s)")  # fmt: skip
    if "cwltool" in runners:
        ratio = wall / statistics.median(cached["cwltool"])
        print(f"ratio cwl-dask/cwltool on a cached pass: {ratio:.2f}")


if __name__ == "__main__":
    main()
