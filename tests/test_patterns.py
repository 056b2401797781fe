"""The application-package-patterns sample, unwrapped: same outputs as cwltool."""

from __future__ import annotations

import json
from pathlib import Path

import pystac

from conftest import SAMPLES, normalise

PATTERNS = SAMPLES / "patterns"
PACKAGE = PATTERNS / "app-package.cwl"
PARAMS = PATTERNS / "params.yml"


def test_unwrapped_patterns_match_cwltool(cwl_dask, cwltool, tmp_path: Path) -> None:
    # cwl-dask picks the first Workflow (#patterns) itself; cwltool needs the fragment.
    ours = cwl_dask("run", "--no-container", "--outdir", tmp_path / "ours", PACKAGE, PARAMS)
    assert ours.code == 0, ours.stderr
    assert "running #patterns, its first Workflow" in ours.stderr
    reference = cwltool(
        "--no-container", "--outdir", tmp_path / "ref", f"{PACKAGE}#patterns", PARAMS
    )
    assert reference.code == 0, reference.stderr
    output = ours.output()
    assert normalise(output) == normalise(reference.output())

    # The patterns themselves: a float from outputEval, one from an ExpressionTool, one
    # STAC catalog per Directory and per element of the Directory[] input, kept apart.
    assert isinstance(output["scene_mean"], float) and isinstance(output["series_mean"], float)
    names = [d["basename"] for d in output["series_catalogs"]]
    assert names == ["series-1-stats", "series-2-stats", "series-3-stats"]
    for directory in [output["scene_catalog"], *output["series_catalogs"]]:
        catalog = pystac.Catalog.from_file(str(Path(directory["path"]) / "catalog.json"))
        (item,) = catalog.get_items(recursive=True)
        stats = json.loads(Path(item.assets["stats"].get_absolute_href()).read_text())
        assert stats["masked"] is True  # the optional Directory was given and used
    means = [
        json.loads((Path(d["path"]) / d["basename"] / "stats.json").read_text())["mean"]
        for d in output["series_catalogs"]
    ]
    assert output["series_mean"] == round(sum(means) / len(means), 6)
