"""Side-by-side benchmark: cwl-dask against cwltool (serial, ``--parallel``) and toil-cwl-runner.

    python -m benchmarks                          # the standard workloads, 3 repetitions
    python -m benchmarks --workloads scale --reps 1 --plot wall.png
    python -m benchmarks --workloads scaleout     # 256 x sleep 1 on 8/16/32/64 workers
    python -m benchmarks --workloads scale-remote # the scatters on a real scheduler, 2 workers
    python -m benchmarks --workloads scale-100k --runners cwl-dask --reps 1   # opt-in, long

The machine running this is usually shared and noisy, so absolute seconds mean little: every
workload runs all runners *alternately* (the order rotates each repetition) in one
invocation, and the table reports medians and the ratio cwl-dask/peer from the same spell.
Each run gets a fresh temporary directory as its working directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.remote import RemoteCluster, job_file
from benchmarks.targets import targets

HERE = Path(__file__).resolve().parent
CLUSTERS = HERE / "clusters.py"


@dataclass(frozen=True)
class Workload:
    name: str
    cwl: str
    job: str
    jobs: int
    scatter_n: int | None = None  # a point of the wall-vs-N curve
    cluster: str | None = None  # cwl-dask --cluster factory (scale-out); peers then skipped
    startup_of: str | None = None  # this workload measures the start-up of that one
    remote: bool = False  # cwl-dask on a real scheduler + worker processes (benchmarks.remote)
    #: Store mode against a shared filesystem (benchmarks.objstore: moto, isolated worker).
    store: bool = False


def _workloads() -> dict[str, Workload]:
    items = [
        Workload("one_step", "one_step.cwl", "one_step.yml", 1),
        *(
            Workload(f"scatter_{n}", "scatter.cwl", f"scatter_{n}.yml", n, scatter_n=n)
            for n in (10, 100, 1000, 3000, 10000, 100000)
        ),
        *(
            Workload(
                f"remote_scatter_{n}",
                "scatter.cwl",
                f"scatter_{n}.yml",
                n,
                scatter_n=n,
                remote=True,
            )
            for n in (1000, 3000, 10000)
        ),
        Workload("chain", "chain.cwl", "chain.yml", 20),
        # --workdir s3:// on moto with an isolated worker, against a shared filesystem.
        Workload("store_scatter_1000", "scatter.cwl", "scatter_1000.yml", 1000, store=True),
        # Toil issue #4434's micro-benchmark: 500 trivial echo jobs scattered (TOIL_4434).
        Workload("toil_4434", "scatter.cwl", "scatter_500.yml", 500),
        Workload("diamond_fanout", "diamond_fanout.cwl", "diamond_fanout.yml", 101),
        Workload("sleep_scatter", "sleep_scatter.cwl", "sleep_scatter.yml", 8),
        Workload("cpu_scatter", "cpu_scatter.cwl", "cpu_scatter.yml", 8),
    ]
    for workers in (8, 16, 32, 64):
        cluster = f"{CLUSTERS}:workers_{workers}"
        items.append(
            Workload(
                f"scaleout_{workers}w_startup",
                "sleep_scatter.cwl",
                "sleep_scatter_1.yml",
                1,
                cluster=cluster,
                startup_of=f"scaleout_{workers}w",
            )
        )
        items.append(
            Workload(
                f"scaleout_{workers}w",
                "sleep_scatter.cwl",
                "sleep_scatter_256.yml",
                256,
                cluster=cluster,
            )
        )
    return {w.name: w for w in items}


WORKLOADS = _workloads()
GROUPS = {
    "standard": [
        "one_step",
        "scatter_10",
        "scatter_100",
        "scatter_1000",
        "chain",
        "toil_4434",
        "diamond_fanout",
        "sleep_scatter",
        "cpu_scatter",
    ],
    "scale": ["scatter_1000", "scatter_3000", "scatter_10000"],
    "scaleout": [w for w in WORKLOADS if w.startswith("scaleout_")],
    "scale-remote": ["remote_scatter_1000", "remote_scatter_3000", "remote_scatter_10000"],
    # Opt-in, not in "all": ≈ 10 minutes and a 600 kB job file (benchmarks.remote.job_file).
    "scale-100k": ["scatter_100000"],
    # Needs root (unshare -m) and moto; the two modes alternate (benchmarks.objstore).
    "store": ["store_scatter_1000"],
}
GROUPS["all"] = list(
    dict.fromkeys(
        GROUPS["standard"] + GROUPS["scale"] + GROUPS["scaleout"] + GROUPS["scale-remote"]
    )
)

RUNNERS = ("cwl-dask", "cwl-dask-before", "cwltool", "cwltool-parallel", "toil", "cwl-dask-shared")
#: The store workloads' runners: cwl-dask with ``--workdir s3://`` and an isolated worker is
#: ``cwl-dask``; the same scheduler set-up on a shared filesystem is ``cwl-dask-shared``.
STORE_RUNNERS = {"s3, isolated worker": "cwl-dask", "shared filesystem": "cwl-dask-shared"}
#: ``--before SRC``: the runner ``cwl-dask-before`` runs cwl-dask from that source tree (e.g.
#: ``git worktree add /tmp/base main``, then ``--before /tmp/base/src``), so a change's before
#: and after alternate in one invocation, as the peers do.
BEFORE_ENV = "CWL_DASK_BENCH_BEFORE_SRC"


def _executable(name: str) -> str | None:
    """A console script from this interpreter's environment first, else from PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def available_runners() -> list[str]:
    found = ["cwl-dask"]
    if os.environ.get(BEFORE_ENV):
        found.append("cwl-dask-before")
    if _executable("cwltool"):
        found += ["cwltool", "cwltool-parallel"]
    if _executable("toil-cwl-runner"):
        found.append("toil")
    return found


def command(
    runner: str, workload: Workload, run_dir: str, scheduler: str | None = None
) -> list[str]:
    cwl, job = str(HERE / workload.cwl), job_file(workload.job)
    out = os.path.join(run_dir, "out")
    if runner in ("cwl-dask", "cwl-dask-before"):
        extra = ["--cluster", workload.cluster] if workload.cluster else []
        if workload.remote:
            assert scheduler is not None, "a remote workload runs on benchmarks.remote's cluster"
            extra = ["--scheduler", scheduler]
        return [
            sys.executable,
            "-m",
            "cwl_dask",
            "run",
            "--quiet",
            "--no-container",
            *extra,
            "--outdir",
            out,
            cwl,
            job,
        ]
    if runner in ("cwltool", "cwltool-parallel"):
        parallel = ["--parallel"] if runner == "cwltool-parallel" else []
        return [
            _executable("cwltool") or "cwltool",
            "--quiet",
            "--no-container",
            *parallel,
            "--outdir",
            out,
            cwl,
            job,
        ]
    if runner == "toil":
        return [
            _executable("toil-cwl-runner") or "toil-cwl-runner",
            "--quiet",
            "--batchSystem",
            "single_machine",
            "--jobStore",
            os.path.join(run_dir, "js"),
            "--workDir",
            os.path.join(run_dir, "tmp"),
            "--clean",
            "always",
            "--outdir",
            out,
            cwl,
            job,
        ]
    raise ValueError(runner)


@dataclass
class Sample:
    wall: float
    cpu: float  # user + sys of the whole tree (reaped descendants included)
    #: The tree's RSS, sampled every 0.25 s (the root's RSS plus each descendant's unshared
    #: part), or the largest single process's peak (``ru_maxrss``) if that is larger.
    peak_rss_mb: float
    ok: bool
    note: str = ""


def measure(cmd: list[str], cwd: str, timeout: float, pythonpath: str | None = None) -> Sample:
    """Run ``cmd``, returning wall and CPU seconds and the process tree's peak RSS."""
    import psutil

    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    # toil needs its helpers (cwl-docker-extract) on PATH even without containers.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with (
        open(os.path.join(cwd, "stdout.json"), "wb") as out,
        open(os.path.join(cwd, "stderr.txt"), "wb") as err,
    ):
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, stdout=out, stderr=err, env=env, start_new_session=True
        )
        peak = 0.0
        done = threading.Event()

        def sample_tree() -> None:
            nonlocal peak
            try:
                root = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not done.wait(0.25):
                try:
                    total = root.memory_info().rss
                    command_line = root.cmdline()
                    for p in root.children(recursive=True):
                        # A forked child shares its parent's pages until it execs, and
                        # they count in its RSS (anonymous pages are not "shared"): one
                        # not exec'd yet (its command line is still the runner's) is
                        # skipped, or a 600 MB driver measured 1.5 GB at N = 100000.
                        with contextlib.suppress(psutil.Error):
                            if p.cmdline() == command_line:
                                continue
                            info = p.memory_info()
                            total += max(0, info.rss - info.shared)
                except psutil.Error:
                    return
                peak = max(peak, total / 2**20)

        sampler = threading.Thread(target=sample_tree, daemon=True)
        sampler.start()
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
    peak = max(peak, usage.ru_maxrss / 1024)
    cpu = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        note = "timeout" if proc.returncode == -signal.SIGKILL else f"exit {proc.returncode}"
        return Sample(wall, cpu, peak, False, note)
    try:
        json.loads(Path(cwd, "stdout.json").read_text())
    except ValueError:
        return Sample(wall, cpu, peak, False, "no output object")
    return Sample(wall, cpu, peak, True)


@dataclass
class Result:
    workload: str
    runner: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.ok]

    def median(self, attr: str = "wall") -> float | None:
        values = [getattr(s, attr) for s in self.ok]
        return statistics.median(values) if values else None

    def peak(self) -> float | None:
        return max((s.peak_rss_mb for s in self.ok), default=None)


def runners_for(workload: Workload, runners: list[str], args: argparse.Namespace) -> list[str]:
    if workload.cluster:
        return [r for r in runners if r == "cwl-dask"]
    chosen = []
    for runner in runners:
        limit = args.toil_max_jobs if runner == "toil" else args.peer_max_jobs
        if runner == "cwl-dask" or workload.jobs <= limit:
            chosen.append(runner)
    return chosen


def run_benchmarks(args: argparse.Namespace) -> list[Result]:
    runners = [r for r in args.runners if r in available_runners()]
    missing = sorted(set(args.runners) - set(runners))
    if missing:
        print(f"not installed, skipped: {', '.join(missing)}", file=sys.stderr)
    results: list[Result] = []
    cluster: RemoteCluster | None = None
    try:
        for name in args.workloads:
            if WORKLOADS[name].store:
                results.extend(_run_store_workload(name, args.reps))
                continue
            if WORKLOADS[name].remote and cluster is None:
                cluster = RemoteCluster()
            _run_workload(name, runners, args, results, cluster)
    finally:
        if cluster is not None:
            cluster.close()
    return results


def _run_workload(
    name: str,
    runners: list[str],
    args: argparse.Namespace,
    results: list[Result],
    cluster: RemoteCluster | None,
) -> None:
    """Every repetition of one workload, the runners alternating."""
    workload = WORKLOADS[name]
    chosen = runners_for(workload, runners, args)
    by_runner = {r: Result(name, r) for r in chosen}
    results.extend(by_runner.values())
    for rep in range(args.reps):
        shift = rep % len(chosen)
        for runner in chosen[shift:] + chosen[:shift]:  # rotate: no runner always first
            with tempfile.TemporaryDirectory(prefix=f"bench-{runner}-") as run_dir:
                address = cluster.address if cluster is not None else None
                cmd = command(runner, workload, run_dir, address)
                before = os.environ.get(BEFORE_ENV) if runner == "cwl-dask-before" else None
                sample = measure(cmd, run_dir, args.timeout, before)
                if not sample.ok and args.keep_failed:
                    kept = tempfile.mkdtemp(prefix=f"bench-failed-{runner}-")
                    shutil.copytree(run_dir, kept, dirs_exist_ok=True)
                    sample.note += f" (kept in {kept})"
            by_runner[runner].samples.append(sample)
            status = "ok" if sample.ok else sample.note
            print(
                f"{name:28} {runner:17} rep {rep + 1}: {sample.wall:8.2f} s "
                f"{sample.peak_rss_mb:7.0f} MB  {status}",
                file=sys.stderr,
                flush=True,
            )


def _run_store_workload(name: str, reps: int) -> list[Result]:
    """Both modes of ``benchmarks.objstore``, alternated; wall seconds only (the workers are
    the scheduler's, outside the measured process tree)."""
    from benchmarks import objstore

    by_runner = {r: Result(name, r) for r in STORE_RUNNERS.values()}
    scatter = name.removeprefix("store_")
    for _, mode, wall, _, _ in objstore.compare([scatter], reps):
        by_runner[STORE_RUNNERS[mode]].samples.append(Sample(wall, 0.0, 0.0, True))
    return list(by_runner.values())


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(results: list[Result]) -> str:
    """Markdown: per workload and runner the median wall and CPU seconds, the peak RSS, and
    the ratios of the wall medians cwl-dask/peer."""
    runners = [r for r in RUNNERS if any(x.runner == r for x in results)]
    peers = [r for r in runners if r != "cwl-dask"]
    index = {(r.workload, r.runner): r for r in results}
    head = ["workload", "jobs", *(f"{r}: wall s (CPU s, MB)" for r in runners)]
    head += [f"÷ {p}" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in dict.fromkeys(r.workload for r in results):
        cells = [name, str(WORKLOADS[name].jobs)]
        for runner in runners:
            res = index.get((name, runner))
            if res is None or not res.samples:
                cells.append("—")
            elif not res.ok:
                cells.append(res.samples[-1].note)
            else:
                cells.append(f"{res.median():.2f} ({res.median('cpu'):.1f}, {res.peak():.0f})")
        ours = index.get((name, "cwl-dask"))
        for peer in peers:
            theirs = index.get((name, peer))
            mine = ours.median() if ours else None
            other = theirs.median() if theirs else None
            cells.append(_fmt(mine / other) if mine and other else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares ``y = a + b·x``."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def slopes(results: list[Result]) -> list[str]:
    """Per runner: ``wall = a + b·N`` (and CPU seconds) over the scatters with N >= 100.

    CPU seconds (user + sys of the whole tree) depend much less on what else the machine
    runs than wall seconds do, so their slope is the steadier per-job cost on a shared box.
    """
    out = []
    for runner, remote in [(r, False) for r in RUNNERS] + [("cwl-dask", True)]:
        measured = sorted(
            (float(WORKLOADS[r.workload].scatter_n or 0), r)
            for r in results
            if r.runner == runner
            and WORKLOADS[r.workload].remote == remote
            and (WORKLOADS[r.workload].scatter_n or 0) >= 100
            and r.ok
        )
        if len(measured) < 2:
            continue
        label = f"{runner} (remote)" if remote else runner
        a, b = _fit([(n, r.median() or 0.0) for n, r in measured])
        _, cpu = _fit([(n, r.median("cpu") or 0.0) for n, r in measured])
        (n1, r1), (n2, r2) = measured[-2], measured[-1]
        marginal = ((r2.median() or 0.0) - (r1.median() or 0.0)) / (n2 - n1)
        out.append(
            f"{label}: wall ≈ {a:.2f} s + {1000 * b:.2f} ms·N, CPU {1000 * cpu:.2f} ms·N "
            f"(N = {', '.join(str(int(n)) for n, _ in measured)}); "
            f"marginal wall {int(n1)}→{int(n2)}: {1000 * marginal:.2f} ms/job"
        )
    return out


def overheads(results: list[Result]) -> list[str]:
    """Wall minus the runner's own start-up (one_step, or a 1-job run on the same cluster)."""
    index = {(r.workload, r.runner): r for r in results}
    out = []
    for res in results:
        workload = WORKLOADS[res.workload]
        base_name = next(
            (w.name for w in WORKLOADS.values() if w.startup_of == res.workload),
            "one_step" if res.workload in ("sleep_scatter", "cpu_scatter") else None,
        )
        base = index.get((base_name, res.runner)) if base_name else None
        if base is None or res.median() is None or base.median() is None:
            continue
        net = res.median() - base.median()
        ideal = ""
        if workload.cluster:
            workers = int(workload.name.split("_")[1].rstrip("w"))
            ideal = f", ideal {256 / workers:.0f} s"
        out.append(
            f"{res.workload} {res.runner}: {res.median():.2f} s - start-up "
            f"{base.median():.2f} s = {net:.2f} s{ideal}"
        )
    return out


def plot(results: list[Result], path: str) -> None:
    """Wall time against scatter length N, log-log, one line per runner."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--plot needs matplotlib: pip install 'cwl-dask[bench]'")
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for runner in RUNNERS:
        points = sorted(
            (WORKLOADS[r.workload].scatter_n, r.median())
            for r in results
            if r.runner == runner
            and WORKLOADS[r.workload].scatter_n
            and not WORKLOADS[r.workload].remote  # the local curve; remote has its own table
            and r.median() is not None
        )
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=runner)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("scatter length N (trivial echo jobs)")
    ax.set_ylabel("median wall time, s")
    ax.set_title("scatter.cwl: wall time vs N")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot written to {path}", file=sys.stderr)


def report(results: list[Result]) -> str:
    parts = [table(results)]
    parts.append("Targets (issue 30):\n" + "\n".join(f"- {t}" for t in targets(results)))
    fits = slopes(results)
    if fits:
        parts.append("Per-job slope:\n" + "\n".join(f"- {f}" for f in fits))
    net = overheads(results)
    if net:
        parts.append("Net of start-up:\n" + "\n".join(f"- {n}" for n in net))
    return "\n\n".join(parts)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--workloads",
        default="standard",
        help=f"comma-separated names or groups ({', '.join(GROUPS)}); names: "
        f"{', '.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--runners",
        default=",".join(r for r in RUNNERS if r != "cwl-dask-before"),
        help="comma-separated subset of " + ", ".join(RUNNERS),
    )
    parser.add_argument("--reps", type=int, default=3, help="repetitions per runner (default 3)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run (900)")
    parser.add_argument(
        "--peer-max-jobs",
        type=int,
        default=3000,
        help="skip cwltool on workloads with more jobs (3000: N=10000 takes ≈10 min)",
    )
    parser.add_argument(
        "--toil-max-jobs",
        type=int,
        default=100,
        help="skip toil on workloads with more jobs (100: ≈0.4 s per job)",
    )
    parser.add_argument("--json", help="also write the raw samples to this file")
    parser.add_argument(
        "--from-json", help="report (and plot) saved results (comma-separated files); run nothing"
    )
    parser.add_argument("--plot", help="draw wall time vs N (log-log) to this PNG")
    parser.add_argument(
        "--before",
        metavar="SRC",
        help="also run cwl-dask from this source tree (runner cwl-dask-before), alternated",
    )
    parser.add_argument("--keep-failed", action="store_true", help="keep failed runs' directories")
    args = parser.parse_args(argv)
    names: list[str] = []
    for item in args.workloads.split(","):
        item = item.strip()
        if item in GROUPS:
            names.extend(GROUPS[item])
        elif item in WORKLOADS:
            names.append(item)
        elif item:
            parser.error(f"unknown workload {item!r}")
    args.workloads = list(dict.fromkeys(names))
    args.runners = [r.strip() for r in args.runners.split(",") if r.strip()]
    if args.before:
        os.environ[BEFORE_ENV] = str(Path(args.before).resolve())
        if "cwl-dask-before" not in args.runners:
            args.runners.insert(1, "cwl-dask-before")
    unknown = set(args.runners) - set(RUNNERS)
    if unknown:
        parser.error(f"unknown runner(s): {', '.join(sorted(unknown))}")
    return args


def _compile_cwl_dask() -> None:
    """Byte-compile cwl-dask's modules, as ``pip install`` does for the peers' packages.

    An editable install under ``PYTHONDONTWRITEBYTECODE`` (this project's machines set it)
    would otherwise compile them from source at every start: ≈ 0.1 s per run.
    """
    import compileall

    import cwl_dask

    compileall.compile_dir(str(Path(cwl_dask.__file__).parent), quiet=1)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    if args.from_json:
        results = [
            Result(r["workload"], r["runner"], [Sample(**s) for s in r["samples"]])
            for path in args.from_json.split(",")
            for r in json.loads(Path(path).read_text())["results"]
        ]
    else:
        _compile_cwl_dask()
        results = run_benchmarks(args)
        if args.json:
            meta = {
                "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "cpus": os.cpu_count(),
                "load": os.getloadavg(),
                "reps": args.reps,
            }
            Path(args.json).write_text(
                json.dumps({"meta": meta, "results": [asdict(r) for r in results]}, indent=1)
            )
    print(report(results))
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
