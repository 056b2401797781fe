"""Store mode against a shared filesystem, same machine, one run each (docs/object-storage.md).

    python -m benchmarks.objstore            # EO sample and scatter-1000
    python -m benchmarks --workloads store_scatter_1000 --reps 3   # issue 30's target

Starts moto's S3 server and a real ``dask scheduler``; for each workload runs
``cwl-dask run --scheduler`` once with a plain worker and a local ``--workdir`` (shared
filesystem), once with a worker in ``unshare -m`` that cannot see the driver's files and
``--workdir s3://`` (needs root); both clusters stay up and the two modes alternate. Prints
wall seconds and the bytes the usage report counts.
Uses the test helpers (``tests/isolated.py``) for the processes, stopped by PID.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

WORKLOADS = {
    "eo-ndvi": ("cwl-samples/eo-ndvi/app-package.cwl", "cwl-samples/eo-ndvi/params.yml"),
    "scatter_1000": ("benchmarks/scatter.cwl", "benchmarks/jobs/scatter_1000.yml"),
}


MODES = ("shared filesystem", "s3, isolated worker")
#: (workload, mode, wall s, bytes downloaded, bytes uploaded)
Row = tuple[str, str, float, int, int]


def compare(names: list[str], reps: int = 1) -> list[Row]:
    """``(workload, mode, wall s, bytes downloaded, bytes uploaded)`` per run: both clusters
    stay up and the modes alternate in each repetition (the order rotates), so the two
    modes are measured in the same spell, as ``python -m benchmarks`` does its runners."""
    from isolated import IsolatedCluster, MotoServer, store_fs

    area = Path(tempfile.mkdtemp(prefix="cwl-dask-objstore-bench-"))
    moto = MotoServer(area / "moto.log").start()
    store_fs(moto).mkdir("bench")
    clusters: dict[str, tuple[Path, IsolatedCluster]] = {}
    rows: list[Row] = []
    try:
        for mode in MODES:
            isolated = mode != MODES[0]
            hidden = area / ("hidden" if isolated else "shared")
            hidden.mkdir()
            for name in names:
                shutil.copytree(ROOT / Path(WORKLOADS[name][0]).parent, hidden / name)
            logs = area / f"logs-{isolated}"
            cluster = IsolatedCluster(hidden, logs, moto.environment(), isolate=isolated)
            cluster.start()
            clusters[mode] = (hidden, cluster)
        for rep in range(reps):
            for name in names:
                order = MODES[rep % 2 :] + MODES[: rep % 2]
                for mode in order:
                    rows.append(_run(name, mode, *clusters[mode], moto, rep))
    finally:
        for _, cluster in clusters.values():
            cluster.stop()
        moto.stop()
        shutil.rmtree(area, ignore_errors=True)
    return rows


def _run(name: str, mode: str, hidden: Path, cluster: Any, moto: Any, rep: int) -> Row:
    from isolated import cwl_dask

    package, job = WORKLOADS[name]
    base = hidden / name
    isolated = mode != MODES[0]
    workdir = f"s3://bench/runs-{rep}" if isolated else str(hidden / f"work-{rep}")
    usage = hidden / f"{name}-{rep}-usage.json"
    started = time.monotonic()
    done = cwl_dask(
        hidden, moto.environment(), "--quiet", "--no-container", "--scheduler",
        cluster.address, "--workdir", workdir, "--outdir", hidden / f"{name}-{rep}-out",
        "--usage-report", usage, base / Path(package).name,
        base / Path(job).relative_to(Path(package).parent),
    )  # fmt: skip
    wall = time.monotonic() - started
    if done.code != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    report = json.loads(usage.read_text())
    down = sum(c.get("bytes_downloaded", 0) for c in report["children"])
    up = sum(c.get("bytes_uploaded", 0) for c in report["children"])
    print(f"{name:28} {mode:22} rep {rep + 1}: {wall:8.2f} s", file=sys.stderr, flush=True)
    return name, mode, wall, down, up


def main() -> None:
    rows = compare(list(WORKLOADS))
    print("| workload | mode | wall s | downloaded | uploaded |\n|---|---|---|---|---|")
    for name, mode, wall, down, up in rows:
        print(f"| {name} | {mode} | {wall:.1f} | {down / 1e3:.0f} kB | {up / 1e3:.0f} kB |")


if __name__ == "__main__":
    main()
