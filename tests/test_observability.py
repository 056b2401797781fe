"""Seeing a run: progress bars, event logs, reports, kept logs and the step graph."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, SAMPLES

EO = (SAMPLES / "eo-ndvi" / "app-package.cwl", SAMPLES / "eo-ndvi" / "params.yml")
HELLO = SAMPLES / "hello" / "hello.cwl"
EO_STEPS = ("ndvi", "mask", "mosaic", "stac")


def _under_terminal(args: list[str], cwd: Path, timeout: float = 240) -> tuple[int, str, str]:
    """Run cwl-dask with stderr on a pseudo-terminal; return (code, stdout, terminal text)."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cwl_dask", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            raise TimeoutError("cwl-dask did not finish")
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    return proc.wait(timeout), stdout, b"".join(chunks).decode(errors="replace")


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "\n")


def test_a_terminal_shows_one_bar_per_step_with_totals_and_the_summary(tmp_path: Path) -> None:
    code, stdout, screen = _under_terminal(
        ["run", "--no-container", "--dashboard", "--outdir", str(tmp_path / "out"), *map(str, EO)],
        tmp_path,
    )
    assert code == 0, _plain(screen)
    assert json.loads(stdout)["results"]["class"] == "Directory"
    text = _plain(screen)
    for step in EO_STEPS:
        # the bar's final state: step name, a full bar, done/total, nothing running
        bar = re.search(
            rf"^{step}\s+\S+\s+(\d+)/(\d+)\s+running\s+(\d+)\s+\d+:\d\d:\d\d eta", text, re.M
        )
        assert bar, f"no bar for {step} in:\n{text}"
    finals = {
        step: re.findall(rf"^{step}\s+\S+\s+(\d+)/(\d+)\s+running\s+0", text, re.M)[-1]
        for step in EO_STEPS
    }
    assert finals == {
        "ndvi": ("4", "4"),
        "mask": ("4", "4"),
        "mosaic": ("1", "1"),
        "stac": ("1", "1"),
    }
    # mask's total (4) is known when its bar first shows (a total learnt as invocations
    # came would show 1/1, 2/2 … first); a frame between its first and last invocation may
    # not be drawn at all on a fast run, so none is required
    first_mask = re.search(r"^mask\s+\S+\s+(\d+)/(\d+)\s", text, re.M)
    assert first_mask is not None and first_mask.group(2) == "4", text
    assert "Dask dashboard: http" in text
    summary = re.search(
        r"^step\s+invocations\s+failed\s+total\s+mean\s+max\s+cores\s+ram\s+retries$", text, re.M
    )
    assert summary, text
    assert re.search(r"^ndvi\s+4\s+0\s+\S+\s+\S+\s+\S+\s+1\s+512 MiB\s+0$", text, re.M), text


def test_json_log_format_report_usage_and_kept_logs(cwl_dask, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cwl_dask(
        "run",
        "--no-container",
        "--log-format",
        "json",
        "--outdir",
        out,
        "--report",
        tmp_path / "report.html",
        "--usage-report",
        tmp_path / "usage.json",
        *EO,
    )
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert all({"time", "level", "message"} <= set(e) for e in events)
    finished = [e for e in events if e.get("event") == "finished"]
    assert sorted(e["step"] for e in finished) == sorted(
        ["ndvi"] * 4 + ["mask"] * 4 + ["mosaic", "stac"]
    )
    expected: dict[str, int] = {}
    for e in events:
        if e.get("event") == "expected":
            expected.update(e["totals"])
    assert expected == {"ndvi": 4, "mask": 4, "mosaic": 1, "stac": 1}
    [summary] = [e for e in events if e.get("event") == "summary"]
    assert {s["step"]: s["invocations"] for s in summary["steps"]} == {
        "ndvi": 4,
        "mask": 4,
        "mosaic": 1,
        "stac": 1,
    }

    html = (tmp_path / "report.html").read_text()
    assert "cwl-dask-summary" in html and "Dask Performance Report" in html
    for step in EO_STEPS:
        assert f"<td>{step}</td>" in html

    usage = json.loads((tmp_path / "usage.json").read_text())
    assert usage["total_tasks"] == 10 and len(usage["children"]) == 10
    assert {s["step"] for s in usage["steps"]} == set(EO_STEPS)

    logs = out / ".cwl-dask" / "logs"
    names = sorted(p.name for p in logs.iterdir())
    scattered = [
        f"{step}{suffix}.log" for step in ("ndvi", "mask") for suffix in ("", ".2", ".3", ".4")
    ]
    assert names == sorted([*scattered, "mosaic.log", "stac.log"])
    assert {Path(c["log"]) for c in usage["children"]} == {logs / n for n in names}
    assert "[job mosaic]" in (logs / "mosaic.log").read_text()


def test_expected_totals_follow_scatter_methods_and_skipped_steps(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask(
        "run", "--log-format", "json", "--outdir", tmp_path, DATA / "progress-mix.cwl"
    )  # fmt: skip
    assert result.code == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    expected: dict[str, int] = {}
    for e in events:
        if e.get("event") == "expected":
            assert all(count > 0 for count in e["totals"].values())
            expected.update(e["totals"])
    # 5 x 2 flat crossproduct; the sub-workflow's steps once per element, the conditional
    # one only for the 3 odd numbers it ran for
    assert expected == {"pair": 10, "square": 5, "only_odd": 3}
    finished = [e["step"] for e in events if e.get("event") == "finished"]
    assert {s: finished.count(s) for s in set(finished)} == expected


def test_a_failure_names_the_log_it_kept(cwl_dask, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = cwl_dask("run", "--no-container", "--logs-dir", logs, DATA / "fail.cwl")
    assert result.code == 1
    assert "disk on fire" in (logs / "explode.log").read_text()
    assert str(logs / "explode.log") in result.stderr


def test_no_terminal_means_plain_event_lines(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("run", "--no-container", "--outdir", tmp_path / "o", HELLO)
    assert result.code == 0, result.stderr
    assert "INFO started hello" in result.stderr
    assert re.search(
        r"INFO finished hello: success in \d+\.\d s \(1/1 of step hello; log ", result.stderr
    )
    assert "\x1b[" not in result.stderr


# ------------------------------------------------------------------------------ graph


def _dot(cwl_dask, *args: str | Path) -> str:
    result = cwl_dask("graph", *args)
    assert result.code == 0, result.stderr
    return result.stdout


def _edges(dot: str) -> set[tuple[str, str]]:
    return set(re.findall(r'^\s*"([^"]+)" -> "([^"]+)"', dot, re.M))


def _nodes(dot: str) -> set[str]:
    return set(re.findall(r'^\s*"([^"]+)" \[', dot, re.M))


def test_graph_of_the_eo_sample_has_every_step_and_edge(cwl_dask) -> None:
    dot = _dot(cwl_dask, EO[0])
    assert _nodes(dot) == {
        "in:stac_items", "in:aoi_name", "in:threshold",
        "process/ndvi", "process/mask", "mosaic", "stac",
        "out:results", "out:summary",
    }  # fmt: skip
    assert _edges(dot) == {
        ("in:stac_items", "process/ndvi"),
        ("process/ndvi", "process/mask"),
        ("in:threshold", "process/mask"),
        ("process/ndvi", "mosaic"),
        ("in:threshold", "mosaic"),
        ("process/ndvi", "stac"),
        ("process/mask", "stac"),
        ("mosaic", "stac"),
        ("in:aoi_name", "stac"),
        ("in:threshold", "stac"),
        ("stac", "out:results"),
        ("mosaic", "out:summary"),
    }
    assert "subgraph cluster_0" in dot and "scatter over item" in dot
    assert "1 core, 512 MiB" in dot and "2 cores, 768 MiB" in dot
    assert 'shape="box3d"' in dot  # scattered steps are stacked


def test_graph_of_the_hello_sample(cwl_dask) -> None:
    dot = _dot(cwl_dask, HELLO)
    assert _nodes(dot) == {"in:message", "hello", "out:hello"}
    assert _edges(dot) == {("in:message", "hello"), ("hello", "out:hello")}


def test_graph_coloured_by_a_usage_report(cwl_dask, tmp_path: Path) -> None:
    report = {
        "children": [
            {"step": "ndvi", "elapsed_seconds": 10.0},
            {"step": "ndvi", "elapsed_seconds": 10.0},
            {"step": "mosaic", "elapsed_seconds": 5.0},
        ]
    }
    (tmp_path / "usage.json").write_text(json.dumps(report))
    dot = _dot(cwl_dask, EO[0], "--run", tmp_path / "usage.json")
    assert 'fillcolor="0.000 1.000 1.000"' in dot  # ndvi: the most time, full red
    assert 'fillcolor="0.000 0.250 1.000"' in dot  # mosaic: a quarter of it
    assert "2x, 20.0 s total, 10.0 s mean" in dot
    assert "not run" in dot  # mask and stac are not in the report


def test_graph_without_graphviz_writes_dot_text(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run(
        [sys.executable, "-m", "cwl_dask", "graph", str(HELLO), "-o", str(tmp_path / "wf.png")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "not installed" in result.stderr
    assert (tmp_path / "wf.dot").read_text().startswith("digraph")
    assert not (tmp_path / "wf.png").exists()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_renders_png_with_graphviz(cwl_dask, tmp_path: Path) -> None:
    result = cwl_dask("graph", EO[0], "-o", tmp_path / "wf.png")
    assert result.code == 0, result.stderr
    assert (tmp_path / "wf.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_version_names_cwltool(cwl_dask) -> None:
    result = cwl_dask("--version")
    assert result.code == 0
    assert re.match(r"cwl-dask \S+ \(cwltool \S+", result.stdout)


def test_completion_script_is_available(tmp_path: Path) -> None:
    env = {**os.environ, "_CWL_DASK_COMPLETE": "bash_source"}
    script = Path(sys.executable).parent / "cwl-dask"
    if not script.exists():
        pytest.skip("the cwl-dask entry point is not installed")
    result = subprocess.run([str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert "complete" in result.stdout and "_CWL_DASK_COMPLETE" in result.stdout


# ------------------------------------------------------------------------------ units


def _record(name: str, step: str, started: float, finished: float, status: str = "success"):
    from cwl_dask.observe.events import InvocationRecord

    return InvocationRecord(name, step, status, 1.0, 512.0, started, finished, 0, f"/{name}.log")


def test_step_summary_counts_failures_times_and_restarts() -> None:
    from cwl_dask.observe.usage import format_summary, step_summary

    records = [
        _record("a", "a", 0, 2),
        _record("a_2", "a", 0, 4, status="permanentFail"),
        _record("b", "b", 5, 6),
    ]
    rows = step_summary(records, {"a_2": 1})
    assert [
        (r.step, r.invocations, r.failed, r.total_seconds, r.max_seconds, r.retries) for r in rows
    ] == [
        ("a", 2, 1, 6.0, 4.0, 1),
        ("b", 1, 0, 1.0, 1.0, 0),
    ]
    table = format_summary(rows).splitlines()
    assert table[0].split() == [
        "step",
        "invocations",
        "failed",
        "total",
        "mean",
        "max",
        "cores",
        "ram",
        "retries",
    ]
    assert table[1].split() == ["a", "2", "1", "6.0s", "3.0s", "4.0s", "1", "512", "MiB", "1"]


def test_step_seconds_reads_reports_with_or_without_step_names() -> None:
    from cwl_dask.observe.usage import step_seconds, usage_report

    ours = usage_report([_record("a", "a", 0, 2), _record("a_2", "a", 0, 3)], 2, 1024)
    assert step_seconds(ours) == {"a": (2, 5.0)}
    assert ours["steps"][0]["invocations"] == 2 and ours["total_tasks"] == 2
    calrissian = {"children": [{"name": "ndvi_2", "elapsed_seconds": 1.5}, {"name": "ndvi"}]}
    assert step_seconds(calrissian) == {"ndvi": (2, 1.5)}


def test_json_lines_carry_the_event_fields() -> None:
    import logging

    from cwl_dask.observe.progress import StderrHandler

    handler = StderrHandler(json_lines=True)
    handler.setFormatter(logging.Formatter("ignored %(message)s"))  # as cwltool does
    record = logging.LogRecord("cwl_dask", logging.INFO, __file__, 1, "finished %s", ("x",), None)
    record.event = {"event": "finished", "name": "x"}
    line = json.loads(handler.format(record))
    assert (line["message"], line["event"], line["name"], line["level"]) == (
        "finished x",
        "finished",
        "x",
        "INFO",
    )
    text = StderrHandler()
    text.setFormatter(logging.Formatter("ignored %(message)s"))
    assert text.format(record) == "INFO finished x"


@pytest.mark.parametrize("shown", [False, True])
def test_the_local_worker_profiles_only_when_a_dashboard_or_report_shows_it(shown: bool) -> None:
    from cwl_dask.clusters.choice import make_backend

    # cwl-dask run passes local_profile=True for --dashboard and --report.
    backend = make_backend(local_cores=1, local_memory_mib=512, local_profile=shown)
    try:
        backend.client()
        [worker] = backend.cluster.workers.values()
        assert ("profile" in worker.periodic_callbacks) is shown
    finally:
        backend.close()


def test_the_one_worker_local_cluster_does_no_work_stealing() -> None:
    from cwl_dask.clusters.choice import make_backend

    backend = make_backend(local_cores=1, local_memory_mib=512)
    try:
        backend.client()
        assert "stealing" not in backend.cluster.scheduler.extensions
    finally:
        backend.close()


def test_the_report_table_goes_into_the_pages_body_not_into_an_inlined_script(
    tmp_path: Path,
) -> None:
    """Bokeh's inlined JavaScript holds '<body>' strings before the page's own body tag
    (tests/test_browser.py opens a real report in Chromium)."""
    from cwl_dask.observe.events import InvocationRecord
    from cwl_dask.observe.runreport import _add_summary
    from cwl_dask.observe.usage import step_summary

    page = tmp_path / "report.html"
    page.write_text(
        '<html><head><link rel="shortcut icon" href="https://docs.dask.org/favicon.ico" />'
        "<script>const t = `must be under <body>`;</script></head>"
        '<body class="x"><div id="bokeh"></div></body></html>'
    )
    record = InvocationRecord("hello", "hello", "success", 1, 128, 1.0, 2.0, 0, "hello.log")
    _add_summary(page, step_summary([record]))
    text = page.read_text()
    assert "<script>const t = `must be under <body>`;</script>" in text
    assert '<body class="x"><section id="cwl-dask-summary"' in text
    assert "docs.dask.org" not in text
