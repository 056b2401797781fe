"""Packed documents that carry cwltool's stale ``original_cwlVersion`` note still load."""

from __future__ import annotations

import json
from pathlib import Path

from ruamel.yaml import YAML

from conftest import DATA
from cwl_dask.documents.packed import without_stale_original_version

PACKED = DATA / "packed-original-version.cwl"
KEY = "http://commonwl.org/cwltool#original_cwlVersion"


def test_cwl_dask_runs_a_package_cwltool_refuses(cwl_dask, cwltool, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path, PACKED, "--word", "hi")
    assert result.code == 0, result.stderr
    assert (tmp_path / "shout.txt").read_text() == "hi\n"
    refused = cwltool("--validate", PACKED)
    assert (
        "original_cwlVersion is set (v1.0) but cwlVersion is 'v1.2'"
        in refused.stdout + refused.stderr
    )


def test_the_same_package_as_json_loads(cwl_dask, tmp_path: Path) -> None:
    packed = tmp_path / "packed.json"
    packed.write_text(json.dumps(YAML(typ="safe").load(PACKED.read_text())))
    assert cwl_dask("validate", packed).code == 0


def test_documents_without_the_stale_key_are_returned_unchanged() -> None:
    plain = "cwlVersion: v1.2\nclass: Workflow\n"
    assert without_stale_original_version(plain, "x") is plain
    internal = f"cwlVersion: v1.3.0-dev1\n{KEY}: v1.0\nclass: Workflow\n"
    assert without_stale_original_version(internal, "x") is internal


def test_only_the_top_level_key_is_dropped() -> None:
    text = without_stale_original_version(PACKED.read_text(), "x")
    document = YAML(typ="safe").load(text)
    assert KEY not in document
    assert document["$graph"][0][KEY] == "v1.0"  # harmless where it is, kept
    assert document["cwlVersion"] == "v1.2"
