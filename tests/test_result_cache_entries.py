"""Cache entries: ``cwl-dask cache ls`` and ``cache prune`` (on a folder a run filled and on
moto's S3), and what a manifest may name."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cache_runs import CachedRuns
from conftest import DATA


def _cache(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cwl_dask", "cache", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _publish(location: Any, tmp_path: Path, name: str, step: str) -> Any:
    """One entry of ``step`` holding the file ``name``, as a worker publishes it."""
    from cwl_dask.data.cache.entries import ResultCache

    result = tmp_path / name
    result.write_text(f"{name}\n")
    output = {"out": {"class": "File", "location": result.as_uri(), "basename": name}}
    key = f"{len(name):02d}".ljust(64, "a")
    return ResultCache(location).publish(key, output, str(tmp_path), step=step, seconds=2.0)


def test_cache_ls_shows_the_entries_by_step_and_size(tmp_path: Path) -> None:
    runs = CachedRuns.with_folder(tmp_path)
    assert runs.run(DATA / "cache" / "squares.cwl", "--numbers", "3", "--numbers", "4").code == 0
    listed = _cache("ls", runs.cachedir)
    assert listed.returncode == 0, listed.stderr
    steps = [line.split()[1] for line in listed.stdout.splitlines()[1:]]
    assert sorted(steps) == ["total", "work", "work"]
    assert "3 entries" in listed.stderr


def test_cache_prune_removes_the_entries_older_than_the_age_and_keeps_the_others(
    s3: Any, tmp_path: Path
) -> None:
    from cwl_dask.data.cache import CacheLocation
    from cwl_dask.data.cache.housekeeping import entries, prune

    s3.mkdir("cache")
    location = CacheLocation("s3://cache/platform")
    old = _publish(location, tmp_path, "old.txt", "ndvi")
    an_hour_later = time.time() + 3600
    new = _publish(location, tmp_path, "newer.txt", "mosaic")
    new_manifest = s3.cat_file(f"cache/platform/{new.key}/manifest.json")
    s3.pipe_file(  # as if written an hour after the other
        f"cache/platform/{new.key}/manifest.json",
        new_manifest.replace(str(new.created).encode(), str(an_hour_later).encode()),
    )

    freed = old.size + len(old.to_json())  # its file and its manifest
    assert prune(location, older_than=1800, now=an_hour_later + 1) == (1, freed)
    assert [e.step for e in entries(location)] == ["mosaic"]
    assert s3.find(f"cache/platform/{old.key}") == []


def test_cache_prune_with_a_bad_age_exits_2_naming_it(tmp_path: Path) -> None:
    done = _cache("prune", str(tmp_path), "--older-than", "a month")
    assert done.returncode == 2
    assert "--older-than 'a month': expected a number and a unit" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_entry_whose_output_names_a_file_it_does_not_hold_is_damaged(tmp_path: Path) -> None:
    """A manifest (in a shared cache, anyone can write one) never makes a run hand over a
    file from elsewhere: every location must be one of the entry's own files."""
    from cwl_dask.data.cache import CacheLocation
    from cwl_dask.data.cache.entries import ResultCache
    from cwl_dask.data.cache.manifest import DamagedEntry

    location = CacheLocation.parse(str(tmp_path / "cache"))
    manifest = _publish(location, tmp_path, "mine.txt", "step")
    path = tmp_path / "cache" / manifest.key / "manifest.json"
    raw = json.loads(path.read_text())
    raw["output"]["out"]["location"] = "../../../../etc/passwd"
    path.write_text(json.dumps(raw))
    cache = ResultCache(location)
    with pytest.raises(DamagedEntry, match=re.escape("names ../../../../etc/passwd, which it")):
        cache.restore(cache.lookup(manifest.key), str(tmp_path / "restored"))
