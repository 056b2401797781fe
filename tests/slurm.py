"""A one-node SLURM on this machine, for the HPC tests (fixture in ``conftest_slurm.py``).

``munged``, ``slurmctld`` and ``slurmd`` from Debian's packages (``apt-get install -y
slurm-wlm munge``) are started in the foreground by PID with a configuration written to a
temporary directory: this host is the only node (CPUs from ``os.cpu_count()``, RealMemory
from ``/proc/meminfo``), ``select/cons_tres`` with cores and memory consumable,
``proctrack/linuxproc`` and ``task/none`` (no cgroups), no accounting, free ports, munge on
its own socket. Clients find it through ``SLURM_CONF``. Nothing here imports pytest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BINARIES = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel")


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 4096


@dataclass
class Slurm:
    work: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def conf(self) -> Path:
        return self.work / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def squeue(self) -> list[dict[str, str]]:
        """Jobs now: id, name, state, cpus, memory (MiB), as ``squeue`` prints them."""
        out = subprocess.run(
            ["squeue", "--noheader", "--format=%i|%j|%T|%C|%m"],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        keys = ("id", "name", "state", "cpus", "memory")
        return [dict(zip(keys, line.split("|"), strict=True)) for line in out.splitlines()]

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.work.glob("*.log"))
        )

    def stop(self) -> None:
        """SIGTERM every daemon (and the jobs' worker processes), SIGKILL what lingers."""
        with contextlib.suppress(Exception):
            subprocess.run(
                ["scancel", "--full", "--user", str(os.getuid())],
                env={**os.environ, **self.env},
                timeout=10,
                capture_output=True,
            )
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def start_slurm(work: Path, timeout: float = 60) -> Slurm:
    """Write the configuration, start munged, slurmctld and slurmd; wait for an idle node."""
    work.mkdir(parents=True, exist_ok=True)
    for sub in ("state", "spool", "munge"):
        (work / sub).mkdir(exist_ok=True)
    (work / "munge").chmod(0o700)
    slurm = Slurm(work)
    key = work / "munge" / "munge.key"
    subprocess.run(["mungekey", "--create", f"--keyfile={key}", "--force"], check=True)
    munge_socket = work / "munge" / "munge.socket"
    host = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    slurm.conf.write_text(
        f"""ClusterName=cwl-dask-test
SlurmctldHost={host}
SlurmUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={work / "state"}
SlurmdSpoolDir={work / "spool"}
SlurmctldPidFile={work / "slurmctld.pid"}
SlurmdPidFile={work / "slurmd.pid"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=5
KillWait=3
SlurmctldDebug=info
SlurmdDebug=info
NodeName={host} CPUs={cpus} RealMemory={_memory_mib()} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
    )
    env = {**os.environ, **slurm.env}

    def daemon(command: list[str], log: str) -> None:
        with open(work / log, "wb") as out:
            slurm.processes.append(
                subprocess.Popen(
                    command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    try:
        daemon(
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={munge_socket}",
                f"--key-file={key}",
                f"--log-file={work / 'munged.log'}",
                f"--pid-file={work / 'munge' / 'munged.pid'}",
                f"--seed-file={work / 'munge' / 'munged.seed'}",
            ],
            "munged.out.log",
        )
        deadline = time.monotonic() + timeout
        while not munge_socket.exists():
            if time.monotonic() > deadline or slurm.processes[0].poll() is not None:
                raise RuntimeError(f"munged did not start:\n{slurm.logs()}")
            time.sleep(0.1)
        daemon(["slurmctld", "-D", "-i", "-f", str(slurm.conf)], "slurmctld.log")
        daemon(["slurmd", "-D", "-f", str(slurm.conf)], "slurmd.log")
        while True:
            state = subprocess.run(
                ["sinfo", "--noheader", "--format=%T"],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.strip()
            if state == "idle":
                return slurm
            if time.monotonic() > deadline or any(p.poll() is not None for p in slurm.processes):
                raise RuntimeError(f"SLURM not ready (sinfo: {state!r}):\n{slurm.logs()}")
            time.sleep(0.5)
    except BaseException:
        slurm.stop()
        raise
