"""Outputs reach --outdir complete, replace same-named entries as cwltool does, are never lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, SAMPLES

RELIABILITY = DATA / "reliability"
HELLO = (SAMPLES / "hello" / "hello.cwl", SAMPLES / "hello" / "params.yml")


def outputs_in(outdir: Path) -> list[str]:
    """The entries of --outdir besides the invocations' logs (OUTDIR/.cwl-dask)."""
    return sorted(p.name for p in outdir.iterdir() if p.name != ".cwl-dask")


def test_success_leaves_only_the_outputs_in_outdir(cwl_dask, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cwl_dask("run", "--no-container", "--outdir", out, *HELLO)
    assert result.code == 0, result.stderr
    assert outputs_in(out) == ["hello.txt"]  # no staging directory left
    assert result.output()["hello"]["path"] == str(out / "hello.txt")


def test_an_existing_output_is_replaced_as_cwltool_does(cwl_dask, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "hello.txt").write_text("old\n")
    (out / "unrelated.txt").write_text("kept\n")
    result = cwl_dask("run", "--no-container", "--outdir", out, *HELLO)
    assert result.code == 0, result.stderr
    assert (out / "hello.txt").read_text() == "Hello from cwl-dask\n"
    assert f"replaced {out / 'hello.txt'}" in result.stderr
    assert outputs_in(out) == ["hello.txt", "unrelated.txt"]  # no staging directory left


def test_the_same_run_repeated_into_the_same_outdir_succeeds(cwl_dask, tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    first = cwl_dask("run", "--no-container", "--workdir", work, "--outdir", out, *HELLO)
    again = cwl_dask("run", "--no-container", "--workdir", work, "--outdir", out, *HELLO)
    assert (first.code, again.code) == (0, 0), again.stderr
    assert outputs_in(out) == ["hello.txt"]
    assert list(work.iterdir()) == []  # no intermediate directory kept


def test_no_overwrite_refuses_an_outdir_with_entries_before_anything_runs(
    cwl_dask, tmp_path: Path
) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    (out / "hello.txt").write_text("precious\n")
    result = cwl_dask(
        "run", "--no-container", "--no-overwrite", "--workdir", work, "--outdir", out, *HELLO
    )
    assert result.code == 2
    assert f"--no-overwrite: --outdir {out} already has hello.txt; nothing ran" in result.stderr
    assert (out / "hello.txt").read_text() == "precious\n"
    assert sorted(p.name for p in out.iterdir()) == ["hello.txt"]  # nothing left behind
    assert not work.exists()  # refused before the run directory was made
    assert "started" not in result.stderr and result.stdout == ""
    assert "Traceback" not in result.stderr


def test_overwrite_is_still_accepted(cwl_dask, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "hello.txt").write_text("old\n")
    result = cwl_dask("run", "--no-container", "--overwrite", "--outdir", out, *HELLO)
    assert result.code == 0, result.stderr
    assert (out / "hello.txt").read_text() == "Hello from cwl-dask\n"
    assert outputs_in(out) == ["hello.txt"]


def test_outdir_that_cannot_be_created_exits_2_naming_it(cwl_dask, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cwl_dask("run", "--no-container", "--outdir", blocker / "out", *HELLO)
    assert result.code == 2
    assert f"--outdir {blocker / 'out'} is not writable" in result.stderr
    assert "Traceback" not in result.stderr


def test_disk_full_while_collecting_outputs_exits_2_and_keeps_the_results(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace with a small tmpfs")
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    command = (
        f"mount -t tmpfs -o size=256k tmpfs {out} && exec {sys.executable} -m cwl_dask run "
        f"--no-container --workdir {work} --outdir {out} {RELIABILITY / 'big.cwl'}"
    )
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if "mount" in proc.stderr and proc.returncode == 32:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr}")
    assert proc.returncode == 2, proc.stderr
    assert f"cannot write the outputs to {out}" in proc.stderr
    assert "No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr
    [run_dir] = list(work.iterdir())
    assert f"finished outputs are kept in {run_dir}" in proc.stderr
    [big] = (run_dir / "out").rglob("big.bin")
    assert big.stat().st_size == 2_000_000


def _on_a_small_tmpfs(out: Path, script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``script`` (sh) in a private mount namespace where ``out`` is a 256 KiB tmpfs."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace with a small tmpfs")
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"mount -t tmpfs -o size=256k tmpfs {out} && {script}"],
        capture_output=True, text=True, timeout=240, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if "mount" in proc.stderr and proc.returncode == 32:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr}")
    return proc


def test_a_full_outdir_keeps_no_half_written_output_and_says_what_finished(
    tmp_path: Path,
) -> None:
    """Two small outputs fit, the big one does not: nothing of the publication is left (no
    truncated file, no staging directory), --outdir keeps what it held, and the message
    names each output and where its whole copy is kept."""
    out, work, listing = tmp_path / "out", tmp_path / "work", tmp_path / "listing.txt"
    out.mkdir()
    run = (
        f"echo precious > {out}/precious.txt && {sys.executable} -m cwl_dask run "
        f"--no-container --workdir {work} --outdir {out} {DATA / 'security' / 'several.cwl'}; "
        f"code=$?; find {out} -mindepth 1 -printf '%P %s\\n' > {listing}; exit $code"
    )
    proc = _on_a_small_tmpfs(out, run, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "No space left on device" in proc.stderr
    assert "Traceback" not in proc.stderr
    found = dict(line.rsplit(" ", 1) for line in listing.read_text().splitlines())
    assert not [name for name in found if name.startswith(".cwl-dask-outputs-")], found
    assert {n: s for n, s in found.items() if not n.startswith(".cwl-dask")} == {
        "precious.txt": "9"
    }
    [run_dir] = list(work.iterdir())
    for name in ("a.txt", "b.txt", "big.bin"):
        [kept] = (run_dir / "out").rglob(name)
        assert f"{kept}" in proc.stderr
    [big] = (run_dir / "out").rglob("big.bin")
    assert big.stat().st_size == 2_000_000


def test_a_killed_run_resumed_leaves_no_staging_directory(tmp_path: Path) -> None:
    """A driver SIGKILLed while its tool runs leaves no staging directory in --outdir, so
    the resumed run (--cachedir) that succeeds leaves --outdir with its outputs only."""
    from reliability import start_run, wait_for_lines

    out, cache, marker = tmp_path / "out", tmp_path / "cache", tmp_path / "marker.txt"
    args = ("--no-container", "--cachedir", cache, "--outdir", out)
    tool = (DATA / "nap-tool.cwl", "--marker", marker, "--seconds")
    killed = start_run(*args, *tool, "30", cwd=tmp_path, new_session=True)
    wait_for_lines(marker, 2, killed)
    os.killpg(killed.pid, 9)
    killed.communicate(timeout=30)
    resumed = subprocess.run(
        [sys.executable, "-m", "cwl_dask", "run", *map(str, args), *map(str, tool), "0"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert outputs_in(out) == ["out.txt"]


def test_an_undone_publication_removes_copies_and_renames_moved_outputs_back(
    tmp_path: Path,
) -> None:
    """What a failed relocation left in the staging directory: a copy (its source is still
    there, the copy maybe truncated) is removed; an output renamed in (its source is gone)
    goes back where it was; the staging directory goes; --outdir is as it was."""
    from cwltool.pathmapper import MapperEnt

    from cwl_dask.driver.outputs import OutputPublisher

    out, run = tmp_path / "out", tmp_path / "run"
    run.mkdir()
    publisher = OutputPublisher(str(out))
    publisher.prepare()
    publisher.open()
    staging = Path(str(publisher.staging))
    (run / "copied.bin").write_text("whole source\n")
    (staging / "copied.bin").write_text("trunc")
    (staging / "moved.txt").write_text("moved whole\n")

    class Relocation:
        def items(self) -> list[tuple[str, MapperEnt]]:
            names = ("copied.bin", "moved.txt", "never-started.dat")
            return [
                (name, MapperEnt(str(run / name), str(staging / name), "File", True))
                for name in names
            ]

    publisher.relocation = Relocation()  # type: ignore[assignment]
    assert publisher.abandon() == []
    assert outputs_in(out) == []
    assert (run / "copied.bin").read_text() == "whole source\n"
    assert (run / "moved.txt").read_text() == "moved whole\n"
