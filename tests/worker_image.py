"""The worker image (``Containerfile``), built with podman once per content, and a worker in it.

The image's tag is the hash of what goes into it (the Containerfile, ``.containerignore``,
``pyproject.toml``, ``README.md`` and ``src/``): a second test run finds it and builds
nothing; a change of any of these builds it again (podman's layer cache keeps the layer of
the dependencies while ``pyproject.toml`` stays the same). The build takes ~2.5 min on the
2-core test machine, of which ~2 min install the dependencies from PyPI.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import tempfile
import uuid
from pathlib import Path

from conftest import ROOT

REPOSITORY = "localhost/cwl-dask-worker"
#: What goes into the image, under ROOT (the build context keeps only these).
INPUTS = ("Containerfile", ".containerignore", "pyproject.toml", "README.md")


def content_tag() -> str:
    """``test-<hash>`` of the image's inputs."""
    digest = hashlib.sha256()
    files = [ROOT / name for name in INPUTS] + sorted(
        p for p in (ROOT / "src").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)
    )  # fmt: skip
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return f"test-{digest.hexdigest()[:16]}"


def _ca_secret() -> list[str]:
    """``--secret`` with this machine's CA bundle for pip in the build, when it names one
    (behind a TLS-intercepting proxy, as on the test machine); nothing otherwise."""
    for name in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        bundle = os.environ.get(name)
        if bundle and Path(bundle).is_file():
            return ["--secret", f"id=ca,src={bundle}"]
    return []


def built_image(log: Path, timeout: float = 1200) -> str:
    """The image for the current sources: found by its tag, else built now (older test tags
    are removed then). Raises AssertionError with the build's log tail if it fails."""
    image = f"{REPOSITORY}:{content_tag()}"
    # One build at a time on this machine (pytest-xdist workers, other test runs): whoever
    # waited finds the image built.
    with open(Path(tempfile.gettempdir()) / "cwl-dask-worker-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if subprocess.run(["podman", "image", "exists", image]).returncode != 0:
            _build(image, log, timeout)
    return image


def _build(image: str, log: Path, timeout: float) -> None:
    """``podman build`` of the image as ``image``; then the older test tags are removed."""
    with open(log, "wb") as out:
        done = subprocess.run(
            ["podman", "build", *_ca_secret(), "-f", "Containerfile", "-t", image, "."],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
        )
    assert done.returncode == 0, "podman build failed:\n" + log.read_text()[-4000:]
    listed = subprocess.run(
        ["podman", "images", "--format", "{{.Repository}}:{{.Tag}}", REPOSITORY],
        capture_output=True,
        text=True,
    )
    for other in listed.stdout.split():
        if other != image and other.startswith(f"{REPOSITORY}:test-"):
            subprocess.run(["podman", "rmi", other], capture_output=True)


class ContainerWorker:
    """``dask worker`` in the image: host network, listening on 127.0.0.1, TLS with the
    certificate files in ``certs`` (mounted read-only, owned by the image's user), the
    ``environment`` given (e.g. the S3 endpoint and credentials). Sees no file of the host."""

    def __init__(
        self, image: str, scheduler: str, certs: Path, environment: dict[str, str], log: Path
    ) -> None:
        self.name = f"cwl-dask-test-worker-{uuid.uuid4().hex[:8]}"
        settings = [f"--env={key}={value}" for key, value in environment.items()]
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [
                    "podman", "run", "--rm", "--name", self.name, "--network", "host",
                    "--volume", f"{certs}:/certs:ro,U", *settings, image,
                    "dask", "worker", scheduler, "--host", "127.0.0.1", "--nthreads", "2",
                    "--resources", "cores=2,ram=6000", "--dashboard-address", "127.0.0.1:0",
                    "--name", self.name,
                    "--tls-ca-file", "/certs/ca.pem", "--tls-cert", "/certs/cert.pem",
                    "--tls-key", "/certs/key.pem",
                ],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def pids(self) -> set[int]:
        """The container's processes, as this machine sees them."""
        from reliability import descendants

        shown = subprocess.run(
            ["podman", "inspect", "--format", "{{.State.Pid}}", self.name],
            capture_output=True,
            text=True,
        )
        main = int(shown.stdout.strip() or 0)
        return {main, *descendants(main)} if main else set()

    def stop(self) -> None:
        """``podman stop`` (SIGTERM to tini, which passes it to the worker's group), then the
        ``podman run`` process, by PID."""
        subprocess.run(["podman", "stop", "--time", "15", self.name], capture_output=True)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(30)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
