"""Store mode against a shared filesystem, same machine, one run each (docs/object-storage.md).

    python -m benchmarks.objstore            # EO sample and scatter-1000

Starts moto's S3 server and a real ``dask scheduler``; for each workload runs
``cwl-dask run --scheduler`` once with a plain worker and a local ``--workdir`` (shared
filesystem), once with a worker in ``unshare -m`` that cannot see the driver's files and
``--workdir s3://`` (needs root). Prints wall seconds and the bytes the usage report counts.
Uses the test helpers (``tests/isolated.py``) for the processes, stopped by PID.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

WORKLOADS = {
    "eo-ndvi": ("cwl-samples/eo-ndvi/app-package.cwl", "cwl-samples/eo-ndvi/params.yml"),
    "scatter_1000": ("benchmarks/scatter.cwl", "benchmarks/jobs/scatter_1000.yml"),
}


def main() -> None:
    from isolated import IsolatedCluster, MotoServer, cwl_dask, store_fs

    area = Path(tempfile.mkdtemp(prefix="cwl-dask-objstore-bench-"))
    moto = MotoServer(area / "moto.log").start()
    store_fs(moto).mkdir("bench")
    rows = []
    try:
        for isolated in (False, True):
            hidden = area / ("hidden" if isolated else "shared")
            hidden.mkdir()
            for name in WORKLOADS:
                shutil.copytree(ROOT / Path(WORKLOADS[name][0]).parent, hidden / name)
            logs = area / f"logs-{isolated}"
            cluster = IsolatedCluster(hidden, logs, moto.environment(), isolate=isolated)
            cluster.start()
            try:
                for name, (package, job) in WORKLOADS.items():
                    base = hidden / name
                    workdir = "s3://bench/runs" if isolated else str(hidden / "work")
                    usage = hidden / f"{name}-usage.json"
                    started = time.monotonic()
                    done = cwl_dask(
                        hidden, moto.environment(), "--quiet", "--no-container", "--scheduler",
                        cluster.address, "--workdir", workdir, "--outdir", hidden / f"{name}-out",
                        "--usage-report", usage, base / Path(package).name,
                        base / Path(job).relative_to(Path(package).parent),
                    )  # fmt: skip
                    wall = time.monotonic() - started
                    if done.code != 0:
                        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
                    report = json.loads(usage.read_text())
                    down = sum(c.get("bytes_downloaded", 0) for c in report["children"])
                    up = sum(c.get("bytes_uploaded", 0) for c in report["children"])
                    mode = "s3, isolated worker" if isolated else "shared filesystem"
                    rows.append((name, mode, wall, down, up))
            finally:
                cluster.stop()
    finally:
        moto.stop()
        shutil.rmtree(area, ignore_errors=True)
    print("| workload | mode | wall s | downloaded | uploaded |\n|---|---|---|---|---|")
    for name, mode, wall, down, up in rows:
        print(f"| {name} | {mode} | {wall:.1f} | {down / 1e3:.0f} kB | {up / 1e3:.0f} kB |")


if __name__ == "__main__":
    main()
