"""Runs of ``cwl-dask run --cachedir …`` for the cache tests: a local folder with a local
cluster, or ``s3://`` with workers that share no files with the driver (``conftest_isolated``).

The tests' workflows append a line per invocation that really ran to :attr:`marker`;
:meth:`CachedRuns.ran` reads the lines written since it was last called.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import Completed


@dataclass
class CachedRuns:
    area: Path  # the driver's working directory (--outdir is relative to it)
    cachedir: str
    marker: Path
    fs: Any  # reads the cache: fsspec's local or s3 filesystem
    root: str  # the cache as ``fs`` names it
    options: list[str] = field(default_factory=list)  # --scheduler/--workdir in store mode
    env: dict[str, str] = field(default_factory=dict)
    _seen: int = 0

    @staticmethod
    def with_folder(tmp_path: Path) -> CachedRuns:
        import fsspec

        cache = tmp_path / "cache"
        return CachedRuns(tmp_path, str(cache), tmp_path / "ran.txt",
                          fsspec.filesystem("file"), str(cache))  # fmt: skip

    @staticmethod
    def with_store(area: Path, markers: Path, cluster: Any, server: Any, bucket: str) -> CachedRuns:
        from isolated import store_fs

        tmp = area / "driver-tmp"
        tmp.mkdir(exist_ok=True)
        return CachedRuns(
            area, f"s3://{bucket}/cache", markers / "ran.txt", store_fs(server), f"{bucket}/cache",
            options=["--scheduler", cluster.address, "--workdir", f"s3://{bucket}/runs"],
            env={**server.environment(), "TMPDIR": str(tmp)},
        )  # fmt: skip

    def command(self, workflow: Path, *args: str, outdir: str = "out") -> list[str]:
        return [
            sys.executable, "-m", "cwl_dask", "run", "--no-container", *self.options,
            "--cachedir", self.cachedir, "--outdir", outdir, str(workflow),
            "--marker", str(self.marker), *args,
        ]  # fmt: skip

    def run(self, workflow: Path, *args: str, outdir: str = "out") -> Completed:
        proc = subprocess.run(
            self.command(workflow, *args, outdir=outdir), cwd=self.area, capture_output=True,
            text=True, timeout=300, stdin=subprocess.DEVNULL, env={**os.environ, **self.env},
        )  # fmt: skip
        return Completed(proc.returncode, proc.stdout, proc.stderr)

    def start(self, workflow: Path, *args: str, outdir: str = "out") -> subprocess.Popen[str]:
        """The run in the background, in a process group of its own (to be SIGKILLed)."""
        return subprocess.Popen(
            self.command(workflow, *args, outdir=outdir), cwd=self.area, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, env={**os.environ, **self.env},
        )  # fmt: skip

    def ran(self) -> list[str]:
        """The invocations that ran since the last call (their marker lines)."""
        lines = self.marker.read_text().splitlines() if self.marker.exists() else []
        new, self._seen = lines[self._seen :], len(lines)
        return new

    def outdir_text(self, name: str, outdir: str = "out") -> str:
        return (self.area / outdir / name).read_text()

    def manifests(self, step: str) -> list[dict[str, Any]]:
        """The cache's complete entries of ``step``."""
        self.fs.invalidate_cache()
        found = []
        for path in self.fs.glob(f"{self.root}/*/manifest.json"):
            manifest = json.loads(self.fs.cat_file(path))
            if manifest["step"] == step:
                found.append(manifest)
        return found

    def corrupt(self, manifest: dict[str, Any], name: str) -> None:
        """Change one byte of the entry's file ``name`` (its size stays)."""
        path = f"{self.root}/{manifest['key']}/{manifest['writer']}/{name}"
        data = bytearray(self.fs.cat_file(path))
        data[0] ^= 1
        self.fs.pipe_file(path, bytes(data))

    def wait_settled(self, step: str, quiet: float = 3, timeout: float = 60) -> int:
        """The number of ``step``'s entries once unchanged for ``quiet`` s: a killed
        driver's tasks run on in store mode's workers, and may still publish."""
        deadline = time.monotonic() + timeout
        count, since = len(self.manifests(step)), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = len(self.manifests(step))
            if now != count:
                count, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return count
        raise AssertionError(f"{step}'s entries kept changing for {timeout} s")
