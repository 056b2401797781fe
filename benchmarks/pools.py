"""What worker pools save: one pool against per-shape pools, on a real Dask Gateway.

    python -m benchmarks.pools [--pause 6]

Starts the test gateway (``tests/gateway.py``, local worker processes) and runs
``tests/data/pools/mixed.cwl`` (a scatter of 4 one-core, 512 MiB crops that each run
``--pause`` seconds, then a 2-core, 3 GiB mosaic) twice: once forced into one pool of the
largest shape (``--worker-cores 2 --worker-memory 3GiB``), once with the plan's per-shape
pools (the default). Prints what the clusters' workers held (``--usage-report``'s ``held``:
worker-core-seconds and worker-MiB-seconds, sampled each second) and the wall time; these
are docs/pools.md's waste figures. One run each: on 2 cores, read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
MIXED = ROOT / "tests" / "data" / "pools" / "mixed.cwl"
MODES = {
    "one pool (--worker-cores 2 --worker-memory 3GiB)": ["--worker-cores", "2",
                                                         "--worker-memory", "3GiB"],
    "per-shape pools (default)": [],
}  # fmt: skip


def main() -> None:
    from gateway import start_gateway

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pause", type=float, default=6.0, help="seconds each crop runs")
    pause = parser.parse_args().pause
    area = Path(tempfile.mkdtemp(prefix="cwl-dask-pools-bench-"))
    server = start_gateway(area / "gateway", password="bench")
    env = {
        **os.environ,
        "DASK_GATEWAY__AUTH__TYPE": "basic",
        "DASK_GATEWAY__AUTH__KWARGS__USERNAME": "tester",
        "DASK_GATEWAY__AUTH__KWARGS__PASSWORD": "bench",
    }
    job = area / "job.yml"
    job.write_text(f"tiles: [a, b, c, d]\npause: {pause}\n")
    print("| | clusters | worker-core-seconds held | worker-MiB-seconds held | wall |")
    print("|---|---|---|---|---|")
    try:
        for index, (mode, options) in enumerate(MODES.items()):
            usage = area / f"usage-{index}.json"
            command = [sys.executable, "-m", "cwl_dask", "run", "--no-container", "--quiet",
                       "--gateway", server.url, "--gateway-auth", "basic",
                       "--workdir", str(area / f"work-{index}"),
                       "--outdir", str(area / f"out-{index}"), "--usage-report", str(usage),
                       *options, str(MIXED), str(job)]  # fmt: skip
            started = time.monotonic()
            done = subprocess.run(command, env=env, cwd=area, capture_output=True, text=True)
            wall = time.monotonic() - started
            if done.returncode != 0:
                raise SystemExit(f"{mode}: exit {done.returncode}\n{done.stderr[-2000:]}")
            held = json.loads(usage.read_text())["held"]
            clusters = len(held["clusters"])
            print(
                f"| {mode} | {clusters} | {held['worker_core_seconds']:.1f} | "
                f"{held['worker_ram_mib_seconds']:,.0f} | {wall:.1f} s |"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
