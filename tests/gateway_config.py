# dask-gateway-server config for trying `cwl-dask run --gateway` on one machine, and for the
# tests (tests/conftest_gateway.py). Loopback only, local processes, one shared password.
#
#   pip install "dask-gateway-server[local]"
#   DASK_GATEWAY_PORT=18787 DASK_GATEWAY_PASSWORD=secret \
#       python -m dask_gateway_server -f tests/gateway_config.py
#   DASK_GATEWAY__AUTH__KWARGS__PASSWORD=secret \
#       cwl-dask run --gateway http://127.0.0.1:18787 --no-container \
#       cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml
#
# What a platform operator must copy into a real gateway's config is the options handler:
# workers must declare the Dask resources cores=<worker_cores> and ram=<worker_memory in MiB>,
# the names and units cwl-dask annotates every task with.
# Measured with dask-gateway-server 2026.3.0 and distributed 2026.8.0 (see docs/backends.md).
import os
import sys

from dask_gateway_server.options import Float, Integer, Mapping, Options, String

PORT = int(os.environ.get("DASK_GATEWAY_PORT", "8000"))
# Test only: a scheduler preload (tests/gateway.py) appends the workers and tasks every cluster
# sees to RECORD_DIR/<cluster name>.jsonl; tests/ must then be on the gateway's PYTHONPATH.
RECORD_DIR = os.environ.get("CWL_DASK_TEST_RECORD_DIR", "")

# --- network: everything on loopback (the default ":8000" means all interfaces) -------------
c.Proxy.address = f"127.0.0.1:{PORT}"  # noqa: F821  (c is defined by traitlets)
c.DaskGateway.address = "127.0.0.1:0"  # noqa: F821  private API, random port
c.Proxy.log_level = "warn"  # noqa: F821

# --- backend: local processes as the gateway's own user --------------------------------------
# UnsafeLocalBackend: LocalBackend's setuid code is broken in 2026.3.0 (it chowns "/").
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"  # noqa: F821
if os.environ.get("DASK_GATEWAY_CLUSTERS_DIR"):
    c.UnsafeLocalBackend.clusters_directory = os.environ["DASK_GATEWAY_CLUSTERS_DIR"]  # noqa: F821
c.UnsafeLocalBackend.stop_clusters_on_shutdown = True  # noqa: F821
# distributed 2026 has no dask-scheduler/dask-worker scripts: run the modules with this Python.
SCHEDULER_CMD = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
if RECORD_DIR:
    SCHEDULER_CMD += ["--preload", "gateway"]
c.ClusterConfig.scheduler_cmd = SCHEDULER_CMD  # noqa: F821
c.ClusterConfig.worker_cmd = [sys.executable, "-m", "distributed.cli.dask_worker"]  # noqa: F821

# Faster reactions than the defaults (3 s adaptive period, 30 s status periods).
c.ClusterConfig.adaptive_period = 1.0  # noqa: F821
c.ClusterConfig.idle_timeout = 0  # noqa: F821
c.ClusterConfig.cluster_max_workers = 8  # noqa: F821
c.UnsafeLocalBackend.cluster_status_period = 5  # noqa: F821
c.UnsafeLocalBackend.worker_status_period = 5  # noqa: F821
c.UnsafeLocalBackend.cluster_heartbeat_period = 2  # noqa: F821

# --- auth: HTTP Basic, any user name, one shared password (testing only) ---------------------
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"  # noqa: F821
c.SimpleAuthenticator.password = os.environ.get("DASK_GATEWAY_PASSWORD", "secret")  # noqa: F821


# Test only (tests/test_object_store_gateway.py): workers that share no files with the driver.
# Each worker starts in a mount namespace of its own (`unshare -m`, mounts private) with an
# empty tmpfs over this directory, its TMPDIR inside it, and the AWS_* settings to reach S3.
HIDE = os.environ.get("CWL_DASK_TEST_HIDE", "")
HIDDEN_WORKER = [
    "unshare", "--mount", "--propagation", "private", "sh", "-c",
    f'mount -t tmpfs cwl-dask-test "{HIDE}" && mkdir -p "{HIDE}/worker-tmp" && '
    f'export TMPDIR="{HIDE}/worker-tmp" && exec "$@"',
    "sh",
]  # fmt: skip


# --- cluster options: what `cwl-dask run --gateway` sets --------------------------------------
def options_handler(options, user):
    # The part every cwl-dask gateway needs: workers declare cores and ram (MiB) resources.
    resources = f"cores={options.worker_cores},ram={int(options.worker_memory * 1024)}"
    # GPU pools (cwltool:CUDARequirement steps): the workers declare gpu=N as well. A real
    # gateway also asks its backend for the devices (Kubernetes: nvidia.com/gpu limits).
    if options.worker_gpus:
        resources += f",gpu={options.worker_gpus}"
    # Placement labels (cwl-dask:Placement, ZOO's get_pod_node_selector): a Kubernetes
    # gateway maps them to the pods' node selector, e.g. in its options handler:
    #   "scheduler_extra_pod_config": {}, "worker_extra_pod_config":
    #       {"nodeSelector": dict(options.worker_labels)}
    # Local processes cannot be placed: the labels are recorded in the environment only.
    environment = dict(options.environment)
    if options.worker_labels:
        environment["CWL_DASK_WORKER_LABELS"] = ",".join(
            f"{k}={v}" for k, v in sorted(options.worker_labels.items())
        )
    if RECORD_DIR:
        environment["CWL_DASK_TEST_RECORD_DIR"] = RECORD_DIR
    if HIDE:
        environment.update({k: v for k, v in os.environ.items() if k.startswith("AWS_")})
    return {
        "worker_cores": options.worker_cores,
        "worker_threads": options.worker_cores,
        "worker_memory": int(options.worker_memory * 2**30),
        "worker_cmd": [
            *(HIDDEN_WORKER if HIDE else []),
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            "--resources",
            resources,
        ],
        "environment": environment,
    }


c.Backend.cluster_options = Options(  # noqa: F821
    Integer("worker_cores", default=1, min=1, max=4, label="Worker cores"),
    # calrissian's DaskGatewayRequirement also sets worker_cores_limit (a Kubernetes gateway
    # makes it the pod's CPU limit); local processes have no such limit, it is only recorded.
    Integer("worker_cores_limit", default=0, min=0, max=8, label="Worker core limit (0: cores)"),
    Float("worker_memory", default=1.0, min=0.25, max=8, label="Worker memory (GiB)"),
    String("image", default="", label="Container image (ignored by local processes)"),
    Mapping("environment", default={}, label="Environment variables"),
    Integer("worker_gpus", default=0, min=0, max=8, label="Worker GPUs"),
    Mapping("worker_labels", default={}, label="Worker placement labels"),
    handler=options_handler,
)
