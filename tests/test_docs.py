"""The documentation cannot drift: every shell command it shows runs, or at least parses.

The shell blocks of each page (``docs/*.md``, ``README.md``) run in order, in a directory
of their own holding a copy of ``cwl-samples/``, with ``cwl-dask`` being this checkout's.
Blocks that cannot run here say why in ``<!-- not run: … -->``; their ``cwl-dask``
commands are still parsed by the real click command (docs/development.md, "Commands in the
documentation"). The site itself is built by ``tox -e docs`` (``mkdocs build --strict``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cwl_dask.cli.main import cli
from docblocks import ROOT, Block, blocks, cwl_dask_commands, markers, pages

BLOCK_TIMEOUT = 180
#: The README is what a newcomer reads on one screen; the rest is the site (issue 33).
README_MAX_LINES = 200


def _runnable(page: Path) -> tuple[str, ...]:
    return tuple(b.text for b in blocks(page) if b.is_shell and b.not_run is None)


#: Pages whose runnable blocks are the same (the README's tour is the index's) run once.
RUN_GROUPS: dict[tuple[str, ...], list[Path]] = {}
for _page in pages():
    if _runnable(_page):
        RUN_GROUPS.setdefault(_runnable(_page), []).append(_page)
SHELL_BLOCKS = [b for p in pages() for b in blocks(p) if b.is_shell]


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    """Where a page's commands run: the samples, and ``cwl-dask`` on PATH as this checkout's
    (``sys.executable -m cwl_dask``, which honours PYTHONPATH)."""
    shutil.copytree(ROOT / "cwl-samples", tmp_path / "cwl-samples")
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    shim = bin_dir / "cwl-dask"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cwl_dask "$@"\n')
    shim.chmod(0o755)
    return tmp_path


def _environment(docs_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    path = [str(docs_dir / ".bin"), str(Path(sys.executable).parent), env.get("PATH", "")]
    env["PATH"] = os.pathsep.join(path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return env


@pytest.mark.parametrize(
    "group", list(RUN_GROUPS.values()), ids=lambda group: "+".join(map(_id, group))
)
def test_the_shell_blocks_of_a_page_run_in_order(group: list[Path], docs_dir: Path) -> None:
    env = _environment(docs_dir)
    for block in blocks(group[0]):
        if not block.is_shell or block.not_run is not None:
            continue
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.text],
            cwd=docs_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
        )
        assert done.returncode == 0, (
            f"{block.where}: exit {done.returncode}\n{block.text}\n"
            f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
        )


def _parse(args: list[str]) -> None:
    """Parse ``cwl-dask ARGS`` as the command line would, without running anything."""
    if not args or args[0].startswith("-"):
        cli.make_context("cwl-dask", list(args))
        return
    group = cli.make_context("cwl-dask", [args[0]])
    command = cli.get_command(group, args[0])
    if command is None:
        raise click.UsageError(f"no such command: {args[0]}")
    command.make_context(f"cwl-dask {args[0]}", list(args[1:]), parent=group)


def _parses(args: list[str], where: str) -> None:
    """Parse, standing in an empty file or directory for each path the command requires
    to exist (``cwl-dask stac OUTDIR``, ``provenance DIR``, ``graph --run usage.json``)."""
    for _ in range(5):
        try:
            _parse(args)
            return
        except click.exceptions.Exit as ended:  # --help, --version
            assert ended.exit_code == 0, f"{where}: cwl-dask {' '.join(args)}: exit {ended}"
            return
        except click.BadParameter as err:
            missing = re.search(r"'(?P<path>[^']+)' does not exist", err.format_message())
            if not missing or Path(missing.group("path")).is_absolute():
                raise AssertionError(f"{where}: cwl-dask {' '.join(args)}: {err}") from err
            path = Path(missing.group("path"))
            kind = err.param.type if err.param else None
            wants_dir = missing.group("path").endswith("/") or (
                isinstance(kind, click.Path) and not kind.file_okay
            )
            if wants_dir:
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
        except click.ClickException as err:
            raise AssertionError(f"{where}: cwl-dask {' '.join(args)}: {err}") from err
    raise AssertionError(f"{where}: cwl-dask {' '.join(args)}: still missing paths")


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.where)
def test_every_cwl_dask_command_shown_parses(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in cwl_dask_commands(block):
        _parses(args, block.where)


def test_blocks_that_are_not_run_say_why() -> None:
    wrong = [
        f"{_id(m.page)}:{m.line}"
        + (" has no reason" if m.reason is None else " is not right before a shell block")
        for p in pages()
        for m in markers(p)
        if m.reason is None or not m.before_shell_block
    ]
    assert not wrong, "write '<!-- not run: REASON -->' right before the fence:\n" + "\n".join(
        wrong
    )


@pytest.mark.parametrize(
    "block", [b for p in pages() for b in blocks(p) if b.lang == "python"], ids=lambda b: b.where
)
def test_python_blocks_are_valid_python(block: Block) -> None:
    compile(block.text, block.where, "exec")


def test_the_readme_fits_on_one_screen_and_starts_with_the_two_commands() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_text(encoding="utf-8").splitlines()) <= README_MAX_LINES
    first = blocks(readme)[0]
    assert first.text.splitlines() == [
        "pip install -e . && cwl-dask run --outdir runs/eo-ndvi "
        "cwl-samples/eo-ndvi/app-package.cwl cwl-samples/eo-ndvi/params.yml",
        "pip install tox && tox",
    ]


def test_the_readmes_links_into_the_site_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = {t.split("#")[0] for t in re.findall(r"\]\((docs/[^)]*)\)", text)}
    assert targets, "the README links into docs/"
    assert [t for t in sorted(targets) if not (ROOT / t).exists()] == []


def test_a_not_run_marker_needs_a_reason_and_a_shell_block_after_it(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not run: needs Kubernetes -->\n```bash\nkubectl get pods\n```\n\n"
        "<!-- not run -->\n```bash\nhelm list\n```\n\n"
        "<!-- not run: a transcript -->\n```text\n$ ls\n```\n"
    )
    assert [(m.reason, m.before_shell_block) for m in markers(page)] == [
        ("needs Kubernetes", True),
        (None, True),
        ("a transcript", False),
    ]
    assert [b.not_run for b in blocks(page)] == ["needs Kubernetes", None, "a transcript"]


def test_cwl_dask_commands_are_found_in_lists_pipelines_and_continued_lines() -> None:
    block = Block(
        ROOT / "README.md", 1, "bash",
        "export A=1  # set up\n"
        "DASK_X=1 cwl-dask run --outdir out \\\n    pkg.cwl#main job.yml 2> log.txt | tee x\n"
        "cd out && cwl-dask stac . ; echo '# not a comment'\n",
        None,
    )  # fmt: skip
    assert cwl_dask_commands(block) == [
        ["run", "--outdir", "out", "pkg.cwl#main", "job.yml"],
        ["stac", "."],
    ]
