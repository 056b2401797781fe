"""Tools' peak memory, sampled by one thread per worker (``worker/memory_sampler.py``)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from cwl_dask.worker.memory_sampler import MemorySampler

HOLDS_64_MIB = "import time; block = bytearray(64 * 2**20); time.sleep(1.0)"


def test_the_peak_of_a_watched_process_tree_is_its_largest_sample() -> None:
    sampler = MemorySampler(interval=0.1)
    tool = subprocess.Popen(["sh", "-c", f"{sys.executable} -c '{HOLDS_64_MIB}'; true"])
    sampler.watch(tool.pid)
    tool.wait()
    peak = sampler.done(tool.pid)
    assert peak is not None and peak >= 64 * 2**20  # the child's memory counts


def test_a_process_that_ended_before_its_first_sample_has_no_peak() -> None:
    sampler = MemorySampler(interval=60)
    tool = subprocess.Popen(["true"])
    sampler.watch(tool.pid)
    tool.wait()
    assert sampler.done(tool.pid) is None


def test_one_thread_samples_every_watched_tool() -> None:
    sampler = MemorySampler(interval=0.1)
    tools = [subprocess.Popen(["sleep", "0.5"]) for _ in range(5)]
    before = threading.active_count()
    for tool in tools:
        sampler.watch(tool.pid)
    assert threading.active_count() == before + 1
    for tool in tools:
        tool.wait()
        sampler.done(tool.pid)


def test_a_tool_s_log_tells_its_peak_memory_as_cwltool_does(cwl_dask, tmp_path: Path) -> None:
    tool = tmp_path / "hold.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        f"baseCommand: [{sys.executable}, -c, '{HOLDS_64_MIB.replace('1.0', '1.5')}']\n"
        "inputs: {}\noutputs: {}\n"
    )
    result = cwl_dask("run", "--no-container", "--outdir", "out", tool)
    assert result.code == 0, result.stderr
    assert "[job hold.cwl] Max memory used: " in result.stderr
