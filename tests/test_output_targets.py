"""Final output names: the linear-time numbering of same-named files gives cwltool's names."""

from __future__ import annotations

from pathlib import Path

from cwltool.pathmapper import PathMapper
from cwltool.process import stage_files

from cwl_dask.driver.relocation import OutputPathMapper


def _outputs(tmp_path: Path, names: list[str]) -> list[dict[str, str]]:
    files = []
    for i, name in enumerate(names):
        job_dir = tmp_path / "jobs" / str(i)
        job_dir.mkdir(parents=True)
        (job_dir / name).write_text(str(i))
        files.append({"class": "File", "location": (job_dir / name).as_uri(), "basename": name})
    files.append(dict(files[0]))  # the same output listed twice goes to one place
    return files


def _relocated_targets(mapper_class: type[PathMapper], files: list[dict[str, str]]) -> list[str]:
    mapper = mapper_class(files, "", "/dest", separateDirs=False)
    stage_files(mapper, stage_func=lambda src, dst: None, symlink=False, fix_conflicts=True)
    return [mapper.mapper(f["location"]).target for f in files]


def test_clashing_outputs_get_the_names_cwltool_gives(tmp_path: Path) -> None:
    names = ["out.txt"] * 6 + ["out.txt_3", "b.txt", "out.txt", "b.txt", "out.txt_3"]
    files = _outputs(tmp_path, names)
    ours = _relocated_targets(OutputPathMapper, files)
    assert ours == _relocated_targets(PathMapper, files)
    assert len(set(ours)) == len(names)  # every distinct output has its own name


def test_same_named_directories_are_numbered_as_without_the_memo() -> None:
    from cwl_dask.driver.relocation import unique_name

    taken_a: set[str] = {"result_3"}
    taken_b: set[str] = {"result_3"}
    tried: dict[str, int] = {}
    for _ in range(6):
        plain = unique_name("result", taken_a)
        memo = unique_name("result", taken_b, tried)
        assert plain == memo
        taken_a.add(plain)
        taken_b.add(memo)
    assert sorted(taken_b) == [f"result{s}" for s in ("", "_2", "_3", "_4", "_5", "_6", "_7")]
