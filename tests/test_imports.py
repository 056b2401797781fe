"""Remote $import/$include/$schemas/run: documents: fetched once into a cache, then offline.

A real HTTP server on 127.0.0.1 serves tests/data/imports/remote/; the package that names
its URLs is written per test with the server's address.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import DATA, normalise
from cwl_dask.documents.imports import ImportCache
from cwl_dask.documents.loading import load_process
from cwl_dask.errors import InvalidInputError

IMPORTS = DATA / "imports"
REMOTE_FILES = ("formats.ttl", "doc.txt", "string_format.yaml", "describe.cwl")
OTHER_ENTRY_FILES = ("shout.cwl",)  # run: by #shout-it only


@dataclass
class Server:
    base: str
    requests: list[str] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


@pytest.fixture
def server() -> Iterator[Server]:
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            requests.append(f"{self.command} {self.path}")

    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(Handler, directory=str(IMPORTS / "remote"))
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    running = Server(f"http://127.0.0.1:{httpd.server_address[1]}", requests, httpd)
    yield running
    running.stop()


@pytest.fixture
def package(server: Server, tmp_path: Path) -> Path:
    text = (IMPORTS / "package.cwl.in").read_text().replace("@BASE@", server.base)
    path = tmp_path / "package.cwl"
    path.write_text(text)
    return path


def _run(cwl_dask, package: Path, outdir: Path, cache: Path, *options: str):
    return cwl_dask(
        "run", "--no-container", "--import-cache", cache, *options, "--outdir", outdir,
        package, IMPORTS / "params.yml",
    )  # fmt: skip


def test_an_online_run_fills_the_cache_once_and_an_offline_run_gives_the_same_output(
    cwl_dask, server: Server, package: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    online = _run(cwl_dask, package, tmp_path / "online", cache)
    assert online.code == 0, online.stderr
    assert (
        tmp_path / "online" / "reference.txt"
    ).read_text() == "https://example.org/catalog.json\n"
    assert sorted(ImportCache(cache).urls()) == sorted(f"{server.base}/{f}" for f in REMOTE_FILES)
    gets = [r for r in server.requests if r.startswith("GET")]
    assert sorted(gets) == sorted(f"GET /{f}" for f in REMOTE_FILES)  # each document once

    server.stop()
    # A worker process of its own: nothing it does may need the (stopped) server either.
    offline = _run(
        cwl_dask, package, tmp_path / "offline", cache, "--offline", "--worker-processes"
    )
    assert offline.code == 0, offline.stderr
    assert normalise(offline.output()) == normalise(online.output())


def test_offline_with_an_empty_cache_exits_2_naming_the_urls(
    cwl_dask, server: Server, package: Path, tmp_path: Path
) -> None:
    result = _run(cwl_dask, package, tmp_path / "out", tmp_path / "empty", "--offline")
    assert result.code == 2
    assert f"not in the import cache {tmp_path / 'empty'}" in result.stderr
    assert f"{server.base}/doc.txt" in result.stderr
    assert "cwl-dask fetch-imports" in result.stderr
    assert "Traceback" not in result.stderr
    assert server.requests == []  # offline means no request at all
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_fetch_imports_lists_what_it_fetched_then_what_is_cached(
    cwl_dask, server: Server, package: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = cwl_dask("fetch-imports", "--import-cache", cache, package)
    assert first.code == 0, first.stderr
    assert sorted(first.stdout.splitlines()) == sorted(  # every entry's documents
        f"fetched {server.base}/{f}" for f in REMOTE_FILES + OTHER_ENTRY_FILES
    )
    server.stop()
    again = cwl_dask("fetch-imports", "--import-cache", cache, package)
    assert again.code == 0, again.stderr
    assert sorted(again.stdout.splitlines()) == sorted(
        f"cached {server.base}/{f}" for f in REMOTE_FILES + OTHER_ENTRY_FILES
    )
    loaded = cwl_dask("validate", "--offline", "--import-cache", cache, package)
    assert loaded.code == 0, loaded.stderr


def test_fetch_imports_without_network_prints_one_failed_line_per_url(
    cwl_dask, server: Server, package: Path, tmp_path: Path
) -> None:
    server.stop()  # the package's URLs now refuse connections
    result = cwl_dask("fetch-imports", "--import-cache", tmp_path / "cache", package)
    assert result.code == 1
    assert result.stdout.splitlines() and all(
        line.startswith(f"failed {server.base}/") for line in result.stdout.splitlines()
    )
    assert f"cannot fetch {server.base}/doc.txt: [Errno 111] Connection refused" in result.stderr
    assert "Validation error" not in result.stderr
    assert "Could not load extension schema" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_validate_and_plan_offline_name_a_missing_url(
    cwl_dask, server: Server, package: Path, tmp_path: Path, command: str
) -> None:
    result = cwl_dask(command, "--offline", "--import-cache", tmp_path / "empty", package)
    assert result.code == 2
    assert f"{server.base}/string_format.yaml" in result.stderr or (
        f"{server.base}/doc.txt" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_missing_schemas_url_is_an_error_offline_not_only_a_warning(
    server: Server, tmp_path: Path
) -> None:
    """schema-salad only warns when a $schemas document cannot be fetched."""
    package = tmp_path / "tool.cwl"
    package.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 'true'\n"
        f"$schemas: [{server.base}/formats.ttl]\ninputs: []\noutputs: []\n"
    )
    with pytest.raises(InvalidInputError, match=r"formats\.ttl"):
        load_process(str(package), imports=ImportCache(tmp_path / "empty", offline=True))
    assert server.requests == []
    load_process(str(package), imports=ImportCache(tmp_path / "cache"))
    load_process(str(package), imports=ImportCache(tmp_path / "cache", offline=True))
