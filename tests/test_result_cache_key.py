"""The cache key covers what can change a result, and nothing tied to one machine or run.

Computed on tools loaded by cwltool (``data/cache/key.py``); unlike cwltool's own key it
reads input contents, not paths, and covers the whole tool document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import DATA

TOOL = DATA / "cache" / "upper.cwl"


def _tool(path: Path) -> Any:
    """The tool as cwltool loads it (cwltool's own classes)."""
    from cwltool.context import LoadingContext
    from cwltool.load_tool import load_tool
    from cwltool.workflow import default_make_tool

    return load_tool(str(path), LoadingContext({"construct_tool_object": default_make_tool}))


def _key(tool_path: Path, text: Path, **runtime: Any) -> str:
    from cwltool.context import RuntimeContext

    from cwl_dask.data.cache.key import cache_key

    job = {"text": {"class": "File", "location": text.as_uri()}}
    context = RuntimeContext({"use_container": False, **runtime})
    return cache_key(_tool(tool_path), job, context).digest


@pytest.fixture
def text(tmp_path: Path) -> Path:
    path = tmp_path / "a" / "words.txt"
    path.parent.mkdir()
    path.write_text("hello\n")
    return path


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    edited = tmp_path / "edited" / "upper.cwl"
    edited.parent.mkdir(exist_ok=True)
    edited.write_text(TOOL.read_text().replace(old, new))
    return edited


def test_the_same_contents_at_another_path_have_the_same_key(text: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "b" / "words.txt"
    elsewhere.parent.mkdir()
    elsewhere.write_text("hello\n")
    moved_tool = _edited(tmp_path, "", "")
    assert _key(TOOL, text) == _key(moved_tool, elsewhere)


def test_other_input_contents_have_another_key(text: Path, tmp_path: Path) -> None:
    before = _key(TOOL, text)
    text.write_text("hullo\n")
    assert _key(TOOL, text) != before


def test_an_edited_output_glob_has_another_key(text: Path, tmp_path: Path) -> None:
    edited = _edited(tmp_path, "glob: upper.txt", "glob: '*.txt'")
    assert _key(TOOL, text) != _key(edited, text)


def test_a_changed_resource_request_keeps_the_key(text: Path, tmp_path: Path) -> None:
    edited = _edited(tmp_path, "ramMin: 64", "ramMin: 128")
    assert _key(TOOL, text) == _key(edited, text)


def test_running_in_a_container_has_another_key(text: Path) -> None:
    plain = _key(TOOL, text)
    contained = _key(TOOL, text, use_container=True, default_container="debian:12")
    assert plain != contained


def test_the_image_id_cwltool_writes_into_the_tool_when_it_runs_keeps_the_key(
    text: Path, tmp_path: Path
) -> None:
    """cwltool completes a DockerRequirement with ``dockerImageId`` in place the first time
    it runs the tool; a worker keeps the tool object, so its next invocations see that."""
    from cwltool.context import RuntimeContext

    from cwl_dask.data.cache.key import cache_key

    docker = "hints:\n  DockerRequirement: {dockerPull: 'debian:12'}\nbaseCommand"
    tool = _tool(_edited(tmp_path, "baseCommand", docker))
    job = {"text": {"class": "File", "location": text.as_uri()}}
    runtime = RuntimeContext({"use_container": True})
    before = cache_key(tool, job, runtime).digest
    tool.hints[0]["dockerImageId"] = "debian:12"  # what cwltool's get_image does
    assert cache_key(tool, job, runtime).digest == before


@pytest.mark.parametrize(
    "requirement",
    ["WorkReuse: {enableReuse: false}", "InplaceUpdateRequirement: {inplaceUpdate: true}"],
)
def test_a_tool_that_opts_out_or_updates_inputs_in_place_is_never_cached(
    requirement: str, tmp_path: Path
) -> None:
    from cwl_dask.data.cache.key import reuse_enabled

    edited = _edited(tmp_path, "requirements:\n", f"requirements:\n  {requirement}\n")
    assert reuse_enabled(_tool(TOOL))
    assert not reuse_enabled(_tool(edited))
