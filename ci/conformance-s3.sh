#!/usr/bin/env bash
# The CWL v1.2 conformance suite in store mode: every tool on a worker that shares no file
# with the driver, the run's data through S3 (README: "Without a shared filesystem").
#
#   ci/conformance-s3.sh            (tox -e conformance-s3)
#
# Starts moto's S3 server on 127.0.0.1, a `dask scheduler` and one `dask worker` inside
# `unshare -m` (mounts private) with an empty tmpfs over the directory that holds the suite's
# copy, the test runs' outdirs and the driver's TMPDIR; then runs ci/conformance.sh in mode
# s3 (floor ci/conformance/floor-s3.txt, podman on the worker). Everything it started is
# stopped by PID on exit. Needs root (or user namespaces) for unshare and the tmpfs mount.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ! unshare --mount --propagation private true 2>/dev/null; then
  echo "conformance-s3: unshare --mount is not permitted here (needs root): skipped" >&2
  exit 0
fi
AREA=$(mktemp -d "${TMPDIR:-/tmp}/cwl-dask-conformance-s3.XXXXXX")
LOGS=${CONFORMANCE_OUT:-$ROOT/conformance-out/s3}-services
mkdir -p "$LOGS" "$AREA/work" "$AREA/tmp"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -KILL "-$pid" 2>/dev/null || true; done
  rm -rf "$AREA"
}
trap cleanup EXIT

port() { python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
S3_PORT=$(port)
SCHED_PORT=$(port)
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT"

setsid python -m moto.server -H 127.0.0.1 -p "$S3_PORT" > "$LOGS/moto.log" 2>&1 &
PIDS+=($!)
setsid python -m distributed.cli.dask_scheduler --host 127.0.0.1 --port "$SCHED_PORT" \
  --no-dashboard > "$LOGS/scheduler.log" 2>&1 &
PIDS+=($!)
# One worker, two threads; its resources are declared large so that the suite's
# ResourceRequirement tests are not refused up front (the local cluster only warns there).
setsid unshare --mount --propagation private sh -c \
  "mount -t tmpfs cwl-dask-conformance '$AREA' && mkdir -p '$AREA/worker-tmp' && \
   TMPDIR='$AREA/worker-tmp' exec python -m distributed.cli.dask_worker \
   tcp://127.0.0.1:$SCHED_PORT --nthreads 2 --resources cores=64,ram=1000000 --no-dashboard" \
  > "$LOGS/worker.log" 2>&1 &
PIDS+=($!)

python - "$SCHED_PORT" <<'PY'
import sys, time, urllib.request

import fsspec
from distributed import Client

deadline = time.monotonic() + 60
while True:
    try:
        fsspec.filesystem("s3", skip_instance_cache=True).mkdir("conformance")
        break
    except Exception:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
with Client(f"tcp://127.0.0.1:{sys.argv[1]}", timeout=60) as client:
    client.wait_for_workers(1, timeout=60)
PY

export TMPDIR="$AREA/tmp" CONFORMANCE_WORK="$AREA/work"
export CONFORMANCE_STORE_ARGS="--scheduler tcp://127.0.0.1:$SCHED_PORT --workdir s3://conformance/runs"
export CONFORMANCE_OUT=${CONFORMANCE_OUT:-$ROOT/conformance-out/s3}
if [ "${CONFORMANCE_CACHED:-0}" != 1 ]; then
  bash "$ROOT/ci/conformance.sh" s3
  exit
fi
# CONFORMANCE_CACHED=1 (tox -e conformance-s3-cached, docs/cache.md): the suite twice with
# one --cachedir s3://…, the first pass filling it, the second reusing its results; each pass
# at the store-mode floor. Not in CI's default envs: two passes do not fit its time budget.
export CONFORMANCE_STORE_ARGS="$CONFORMANCE_STORE_ARGS --cachedir s3://conformance/cache"
base=$CONFORMANCE_OUT
status=0
CONFORMANCE_OUT="$base-fill" bash "$ROOT/ci/conformance.sh" s3 || status=$?
CONFORMANCE_OUT="$base-cached" bash "$ROOT/ci/conformance.sh" s3 || status=$?
exit "$status"
