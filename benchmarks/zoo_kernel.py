"""Latency of the real ZOO-Project kernel: a one-step package's sync execute, against
``cwl-dask run`` of the same package (issue 29's goal: at most +1 s).

    python -m benchmarks.zoo_kernel [--reps 5]      # as root, Debian 12, .ci/run's apt packages

Builds (cached) and serves the kernel with ``deploy/zoo/serve.sh`` through the test helper
(``tests/zoo_server.py``: its own run folder and port, Apache stopped by PID at the end),
deploys ``benchmarks/zoo_one_step.cwl`` with the project's own service template (immutable,
so that it may run synchronously) and alternates the two: ``POST …/execution`` (one new
CGI process, embedded Python, the runner, a local Dask cluster) and ``cwl-dask run`` with the
services' Python and code (the venv's interpreter, the same ``src`` first on PYTHONPATH).
Prints the medians and their difference.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
PACKAGE = ROOT / "benchmarks" / "zoo_one_step.cwl"
TEMPLATE = ROOT / "deploy" / "zoo" / "service-template" / "{{cookiecutter.service_name}}"


def main(argv: list[str] | None = None) -> None:
    import zoo_server
    from cwl_dask.zoo.deploy import deploy

    parser = argparse.ArgumentParser(prog="python -m benchmarks.zoo_kernel")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    missing = zoo_server.missing_prerequisites()
    if missing:
        raise SystemExit("the ZOO kernel needs: " + "; ".join(missing))
    server = zoo_server.start("bench")
    work = Path(tempfile.mkdtemp(prefix="cwl-dask-zoo-bench-"))
    job = work / "job.json"
    job.write_text(json.dumps({"message": "hello"}))
    python = server.venv / "bin" / "python3"
    # the code the services import (ZOO_SERVICE_SRC, see deploy/zoo/serve.sh), for both
    env = {**os.environ, "PYTHONPATH": os.environ.get("ZOO_SERVICE_SRC") or str(ROOT / "src")}
    kernel, local = [], []
    try:
        deploy(server.cgi, PACKAGE, TEMPLATE / "service.py", "one-step", mutable=False)
        body = {"inputs": {"message": "hello"}, "outputs": {"out": {}}}
        for rep in range(args.reps):
            for which in ("kernel", "local") if rep % 2 == 0 else ("local", "kernel"):
                started = time.monotonic()
                if which == "kernel":
                    reply = server.execute("one-step", body)
                    if reply.status != 200 or b"hello" not in reply.body:
                        raise SystemExit(f"kernel: {reply.status} {reply.body[:2000]!r}")
                    kernel.append(time.monotonic() - started)
                else:
                    done = subprocess.run(
                        [str(python), "-m", "cwl_dask", "run", "--quiet", "--no-container",
                         f"{PACKAGE}#one-step", str(job)],
                        cwd=work, env=env, capture_output=True, text=True, timeout=300,
                    )  # fmt: skip
                    if done.returncode != 0:
                        raise SystemExit(f"cwl-dask run: {done.stderr[-2000:]}")
                    local.append(time.monotonic() - started)
                print(f"rep {rep + 1} {which:6s} {[kernel, local][which == 'local'][-1]:.2f} s")
    finally:
        zoo_server.stop(server)
    k, c = statistics.median(kernel), statistics.median(local)
    print(f"sync execute through the ZOO kernel: median {k:.2f} s ({args.reps} runs)")
    print(f"cwl-dask run of the same package:    median {c:.2f} s ({args.reps} runs)")
    print(f"difference: {k - c:+.2f} s (goal: at most +1 s)")


if __name__ == "__main__":
    main()
