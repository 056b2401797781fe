"""An S3-protocol server on 127.0.0.1 (moto's server mode), for the staging and ZOO tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "cwl-samples"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 server on 127.0.0.1 with the samples' data, ``AWS_*`` set to reach it.

    ``s3://inputs/data/`` holds the patterns sample's catalogs and ``s3://inputs/eo-ndvi/``
    the eo-ndvi sample's Items. Yields an s3fs filesystem; ``s3.endpoint`` is the URL.
    """
    moto_server = pytest.importorskip("moto.server")
    fsspec = pytest.importorskip("fsspec")
    pytest.importorskip("s3fs")
    import logging
    import urllib.request

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    # moto's backend is per process, shared by its servers: start from an empty one.
    urllib.request.urlopen(
        urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    ).close()
    # fsspec caches filesystems by their arguments, not by the AWS_* variables: one made in
    # this process for an earlier test's server would still point at that (stopped) server.
    s3fs_class = fsspec.get_filesystem_class("s3")
    s3fs_class.clear_instance_cache()
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    fs.endpoint = endpoint
    fs.mkdir("inputs")
    fs.put(f"{SAMPLES / 'patterns' / 'data'}/", "inputs/data/", recursive=True)
    fs.put(f"{SAMPLES / 'eo-ndvi' / 'data'}/", "inputs/eo-ndvi/", recursive=True)
    try:
        yield fs
    finally:
        server.stop()
        s3fs_class.clear_instance_cache()
