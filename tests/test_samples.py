"""Every sample gives the same output object as cwltool on the same inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SAMPLES, normalise, podman_ready

CASES = {
    "hello": (SAMPLES / "hello" / "hello.cwl", SAMPLES / "hello" / "params.yml"),
    "eo-ndvi": (SAMPLES / "eo-ndvi" / "app-package.cwl", SAMPLES / "eo-ndvi" / "params.yml"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_output_matches_cwltool(name: str, cwl_dask, cwltool, tmp_path: Path) -> None:
    workflow, params = CASES[name]
    ours = cwl_dask("run", "--no-container", "--outdir", tmp_path / "ours", workflow, params)
    assert ours.code == 0, ours.stderr
    reference = cwltool("--no-container", "--outdir", tmp_path / "ref", workflow, params)
    assert reference.code == 0, reference.stderr
    assert normalise(ours.output()) == normalise(reference.output())


def test_outputs_are_file_uris_inside_outdir(cwl_dask, tmp_path: Path) -> None:
    workflow, params = CASES["hello"]
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path / "out", workflow, params)
    assert result.code == 0, result.stderr
    for value in result.output().values():
        assert value["location"].startswith(f"file://{tmp_path / 'out'}/")
        assert Path(value["path"]).is_file()


def test_eo_sample_produces_a_stac_catalog(cwl_dask, tmp_path: Path) -> None:
    import pystac

    workflow, params = CASES["eo-ndvi"]
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path, workflow, params)
    assert result.code == 0, result.stderr
    catalog_dir = Path(result.output()["results"]["path"])
    catalog = pystac.Catalog.from_file(str(catalog_dir / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert len(items) >= 3
    for item in items:
        for asset in item.assets.values():
            assert Path(asset.get_absolute_href()).is_file()


@pytest.mark.podman
@pytest.mark.skipif(not podman_ready(), reason="needs podman and ci/setup-podman.sh's images")
@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_in_podman_containers_matches_the_host_run(
    name: str, cwl_dask, tmp_path: Path
) -> None:
    workflow, params = CASES[name]
    contained = cwl_dask("run", "--podman", "--outdir", tmp_path / "pod", workflow, params)
    assert contained.code == 0, contained.stderr
    assert "podman" in contained.stderr  # the command lines cwltool logs are podman's
    host = cwl_dask("run", "--no-container", "--outdir", tmp_path / "host", workflow, params)
    assert normalise(contained.output()) == normalise(host.output())
