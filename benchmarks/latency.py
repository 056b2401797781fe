"""How soon a dependent step starts once its input's task finished (issue 30's chain target).

    python -m benchmarks.latency                     # chain.cwl, 3 runs
    python -m benchmarks.latency --before /tmp/base/src --reps 5

Each run is a fresh ``python`` process running ``chain.cwl`` (20 steps, each waiting on the
last) through ``cwl_dask.run``; the gap of step k is the worker's start of step k minus the
worker's end of step k-1, from the run's invocation records: the driver hearing of the
result, cwltool's workflow step machinery, the submission and Dask's scheduling. With
``--before`` the runs alternate with cwl-dask from that source tree, as in
``python -m benchmarks --before``. A shared machine makes every figure noisy: compare only
runs from one invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_ONE_RUN = """
import json, sys, tempfile
import cwl_dask
result = cwl_dask.run(sys.argv[1], sys.argv[2], outdir=tempfile.mkdtemp(), container="none",
                      quiet=True)
records = sorted(result.records, key=lambda r: r.started)
gaps = [b.started - a.finished for a, b in zip(records, records[1:], strict=False)]
print(json.dumps({"gaps": gaps, "elapsed": [r.elapsed for r in records]}))
"""


def one_run(pythonpath: str | None) -> dict[str, list[float]]:
    """The gaps and the invocations' own durations of one chain run, in seconds."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as cwd:
        done = subprocess.run(
            [sys.executable, "-c", _ONE_RUN, str(HERE / "chain.cwl"), str(HERE / "jobs/chain.yml")],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
    result: dict[str, list[float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--before", metavar="SRC", help="also run cwl-dask from this tree")
    args = parser.parse_args(argv)
    variants = {"cwl-dask": None}
    if args.before:
        variants["cwl-dask-before"] = str(Path(args.before).resolve())
    gaps: dict[str, list[float]] = {name: [] for name in variants}
    own: dict[str, list[float]] = {name: [] for name in variants}
    for rep in range(args.reps):
        for name, pythonpath in variants.items():
            run = one_run(pythonpath)
            gaps[name].extend(run["gaps"])
            own[name].extend(run["elapsed"])
            median = 1000 * statistics.median(run["gaps"])
            print(
                f"{name:16} rep {rep + 1}: median gap {median:.1f} ms",
                file=sys.stderr,
                flush=True,
            )
    for name in variants:
        median = 1000 * statistics.median(gaps[name])
        print(
            f"{name}: a dependent step starts a median {median:.1f} ms "
            f"(p90 {1000 * statistics.quantiles(gaps[name], n=10)[-1]:.1f} ms) after its input's "
            f"task finished (target ≤ 10 ms); an invocation on the worker takes a median "
            f"{1000 * statistics.median(own[name]):.1f} ms ({len(gaps[name])} gaps)"
        )


if __name__ == "__main__":
    main()
