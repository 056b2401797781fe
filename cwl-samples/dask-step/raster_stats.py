"""Statistics of a synthetic raster, computed with dask.array on the step's Dask cluster.

The cluster is the one the runner created for this step (DaskGatewayRequirement):
``DASK_CLUSTER`` names a Dask Gateway cluster (calrissian, cwl-dask --gateway), else
``DASK_SCHEDULER_ADDRESS`` is a scheduler to use (cwl-dask's local cluster); without either
the computation runs on local threads (cwltool). Writes ``stats.json`` (the same numbers
whichever cluster ran it) and ``dask.json`` (where it ran, and the task prefixes the
cluster's scheduler saw, for the tests).
"""

import argparse
import json
import os

import dask.array as da


def connect():
    name = os.environ.get("DASK_CLUSTER")
    if name:
        from dask_gateway import Gateway  # address and auth from the Dask config (env)

        cluster = Gateway().connect(name)
        return cluster.get_client(), {"mode": "gateway", "cluster": name}
    address = os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        from distributed import Client

        return Client(address), {"mode": "scheduler", "cluster": address}
    return None, {"mode": "threads", "cluster": None}


def scheduler_prefixes(dask_scheduler=None):
    return sorted(dask_scheduler.task_prefixes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--chunk", type=int, required=True)
    parser.add_argument("--threshold", type=float, required=True)
    args = parser.parse_args()

    client, where = connect()
    rows = da.arange(args.size, chunks=args.chunk, dtype="f8")[:, None]
    cols = da.arange(args.size, chunks=args.chunk, dtype="f8")[None, :]
    raster = da.sin(rows / 97.0) * da.cos(cols / 61.0)  # a smooth synthetic band
    mean, std, low, high, above = da.compute(
        raster.mean(), raster.std(), raster.min(), raster.max(), (raster > args.threshold).sum()
    )
    stats = {
        "shape": [args.size, args.size],
        "chunks": args.chunk,
        "mean": round(float(mean), 6),
        "std": round(float(std), 6),
        "min": round(float(low), 6),
        "max": round(float(high), 6),
        "above_threshold": int(above),
    }
    with open("stats.json", "w") as out:
        json.dump(stats, out, indent=2, sort_keys=True)
    if client is not None:
        where["workers"] = len(client.scheduler_info()["workers"])
        where["task_prefixes"] = client.run_on_scheduler(scheduler_prefixes)
        client.close()
    with open("dask.json", "w") as out:
        json.dump(where, out, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
