"""``tox -e conformance`` finds the CWL v1.2 suite, fetches the pinned commit, or is skipped.

ci/ is copied into a temporary "repository" with no ``../shared`` beside it, so that the
lookup starts from nothing; a real HTTP server on 127.0.0.1 stands in for GitHub.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import ROOT

COMMIT = (ROOT / "ci" / "conformance" / "SUITE_COMMIT").read_text().split()[0]
NOWHERE = "http://127.0.0.1:9"  # the discard port: the connection is refused


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of ci/ in tmp/repo, with tmp/shared absent."""
    shutil.copytree(ROOT / "ci", tmp_path / "repo" / "ci")
    return tmp_path / "repo"


def _environ(tmp_path: Path, **env: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CWL_V12", "CONFORM"))}
    environ.update(XDG_CACHE_HOME=str(tmp_path / "cache"), CONFORMANCE_FETCH_TIMEOUT="5", **env)
    return environ


def find_suite(repo: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, repo / "ci" / "conformance_suite.py"],
        env=_environ(tmp_path, **env), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[str]:
    """GitHub's archive URL layout for the pinned commit, served on 127.0.0.1."""
    served = tmp_path / "served" / "archive"
    served.mkdir(parents=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = b"- id: one\n"
        info = tarfile.TarInfo(f"cwl-v1.2-{COMMIT}/conformance_tests.yaml")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (served / f"{COMMIT}.tar.gz").write_bytes(buffer.getvalue())

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path / "served"))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_suite_beside_the_repository_is_used(repo: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "cwl-v1.2"
    shared.mkdir(parents=True)
    (shared / "conformance_tests.yaml").write_text("[]\n")
    result = find_suite(repo, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(shared)


def test_the_pinned_commit_is_fetched_once_into_the_user_cache(
    repo: Path, tmp_path: Path, upstream: str
) -> None:
    result = find_suite(repo, tmp_path, CWL_V12_UPSTREAM=upstream)
    assert result.returncode == 0, result.stderr
    suite = tmp_path / "cache" / "cwl-dask" / f"cwl-v1.2-{COMMIT}"
    assert result.stdout.strip() == str(suite)
    assert (suite / "SOURCE_COMMIT").read_text().strip() == COMMIT
    again = find_suite(repo, tmp_path, CWL_V12_UPSTREAM=NOWHERE)
    assert again.returncode == 0 and again.stdout.strip() == str(suite)


def test_without_suite_or_network_conformance_is_skipped_saying_how_to_get_it(
    repo: Path, tmp_path: Path
) -> None:
    result = subprocess.run(
        ["bash", repo / "ci" / "conformance.sh", "nocontainer"],
        env=_environ(tmp_path, CWL_V12_UPSTREAM=NOWHERE),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "conformance: SKIPPED: the CWL v1.2 conformance suite is not here" in result.stderr
    assert f"git -C {tmp_path / 'shared' / 'cwl-v1.2'} checkout {COMMIT}" in result.stderr


def test_ci_fails_instead_of_skipping_when_the_suite_is_missing(repo: Path, tmp_path: Path) -> None:
    result = find_suite(repo, tmp_path, CONFORMANCE_REQUIRED="1", CWL_V12_UPSTREAM=NOWHERE)
    assert result.returncode == 2
    assert "CWL v1.2 conformance suite is not here" in result.stderr


def test_a_suite_named_by_cwl_v12_suite_must_exist(repo: Path, tmp_path: Path) -> None:
    result = find_suite(repo, tmp_path, CWL_V12_SUITE=str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "has no conformance_tests.yaml" in result.stderr
