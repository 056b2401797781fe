"""The ZOO runner in a process left as the ZOO kernel leaves its services (kernel_process.py).

SIGCHLD ignored, SIGTERM/SIGINT handled in C, the CGI request in the environment, fd 1 the
HTTP response, the cgi-bin folder as cwd; and a dismissed job is one SIGKILL. The real
kernel, over HTTP, is tests/test_zoo_kernel.py.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from conftest import DATA, eventually

ZOO_DATA = DATA / "zoo"
KERNEL_PROCESS = Path(__file__).resolve().parent / "kernel_process.py"


def _request(tmp_path: Path, package: str, inputs: dict[str, Any] | None = None) -> Path:
    cgi_bin = tmp_path / "cgi-bin"
    cgi_bin.mkdir(exist_ok=True)
    identifier = package.removesuffix(".cwl")
    request = {
        "package": str(ZOO_DATA / package),
        "conf": {
            "lenv": {"Identifier": identifier, "usid": "job-1", "message": ""},
            "main": {"tmpPath": str(tmp_path / "zTmp"), "tmpUrl": "http://127.0.0.1/temp/"},
        },
        "inputs": inputs or {},
        "outputs": {},
        "cgi_bin": str(cgi_bin),
        "stdout": str(tmp_path / "response"),
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    return path


def _serve(tmp_path: Path, package: str, inputs: dict[str, Any] | None = None) -> dict:
    request = _request(tmp_path, package, inputs)
    result = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(KERNEL_PROCESS), str(request), str(result)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(result.read_text(encoding="utf-8"))


def _run_dir(tmp_path: Path, identifier: str) -> Path:
    return tmp_path / "zTmp" / f"{identifier}-job-1"


def test_a_tool_failing_after_writing_its_output_fails_the_job(tmp_path: Path) -> None:
    result = _serve(tmp_path, "fails-after-output.cwl")
    assert result["code"] == 4
    assert "step write failed" in result["statuses"][-1][1]
    assert "exit code 3" in result["statuses"][-1][1]


def test_the_run_writes_nothing_on_the_http_response_and_leaves_it_to_the_kernel(
    tmp_path: Path,
) -> None:
    result = _serve(tmp_path, "environment.cwl")
    assert result["code"] == 3
    assert (tmp_path / "response").read_bytes() == b"Status: 200 OK\r\n\r\n{}"


def test_tools_do_not_get_the_http_request_and_the_service_gets_it_back(tmp_path: Path) -> None:
    result = _serve(tmp_path, "environment.cwl")
    run_dir = _run_dir(tmp_path, "environment")
    env = (run_dir / "staged-out" / "env.txt").read_text(encoding="utf-8")
    assert "HTTP_AUTHORIZATION" not in env and "the-users-token" not in env
    assert "REQUEST_METHOD" not in env
    assert result["environment_after"]["HTTP_AUTHORIZATION"] == "Bearer the-users-token"


def test_scratch_space_is_in_the_jobs_directory_not_the_cgi_bin(tmp_path: Path) -> None:
    _serve(tmp_path, "environment.cwl")
    run_dir = _run_dir(tmp_path, "environment")
    env = (run_dir / "staged-out" / "env.txt").read_text(encoding="utf-8")
    tmpdir = next(line for line in env.splitlines() if line.startswith("TMPDIR="))
    assert tmpdir.removeprefix("TMPDIR=").startswith(str(run_dir))
    assert list((tmp_path / "cgi-bin").iterdir()) == []


def test_the_kernels_sigchld_disposition_is_restored_after_the_run(tmp_path: Path) -> None:
    result = _serve(tmp_path, "environment.cwl")
    assert result["sigchld_after"] == int(signal.SIG_IGN)


def test_a_signal_handled_in_c_keeps_its_handler_around_a_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Python reads a handler an embedding program set in C as None, and None cannot be
    handed back to signal.signal(): the run's end raised TypeError inside the kernel."""
    from cwl_dask.driver.stopping import stop_on_signals

    getsignal = signal.getsignal
    monkeypatch.setattr(
        signal, "getsignal", lambda n: None if n == signal.SIGTERM else getsignal(n)
    )
    before = getsignal(signal.SIGTERM)
    sigint_before = getsignal(signal.SIGINT)  # whatever the test process has (not always Python's)
    with stop_on_signals():
        assert getsignal(signal.SIGTERM) is before  # not replaced: it could not be put back
        assert getsignal(signal.SIGINT) is not sigint_before  # the run's own
    assert getsignal(signal.SIGINT) is sigint_before  # put back


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


def _running(pid: int, command: list[str]) -> bool:
    """Whether a process below ``pid`` runs ``command``."""
    for process in _alive(_descendants(pid)):
        try:
            if process.cmdline()[: len(command)] == command:
                return True
        except psutil.NoSuchProcess:
            pass
    return False


def _anywhere(command: list[str]) -> bool:
    for process in psutil.process_iter(["cmdline"]):
        if (process.info["cmdline"] or [])[: len(command)] == command:
            return True
    return False


def _sleeping_job(tmp_path: Path, seconds: int) -> subprocess.Popen[bytes]:
    """A job running sleepy.cwl, whose tool is ``sleep SECONDS`` (a marker to find it by)."""
    inputs = {"seconds": {"value": str(seconds), "dataType": "int"}}
    request = _request(tmp_path, "sleepy.cwl", inputs)
    return subprocess.Popen(
        [sys.executable, str(KERNEL_PROCESS), str(request), str(tmp_path / "result.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_dismissed_job_leaves_no_process_of_its_run(tmp_path: Path) -> None:
    job = _sleeping_job(tmp_path, 313)
    try:
        assert eventually(lambda: _running(job.pid, ["sleep", "313"]), timeout=90)
        tree = _descendants(job.pid)  # everything the run started, the sleeping tool too
        job.send_signal(signal.SIGKILL)  # ZOO's dismiss
        job.wait()
        assert eventually(lambda: not _alive(tree), timeout=10), _alive(tree)
    finally:
        job.kill()
    log = (_run_dir(tmp_path, "sleepy") / "cwl-dask.log").read_text(encoding="utf-8")
    assert "the job's process ended before its run" in log


@pytest.mark.usefixtures("gateway_env")
def test_a_dismissed_job_leaves_no_dask_gateway_cluster(
    tmp_path: Path, gateway_server: Any, gateway_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASK_GATEWAY_URL", gateway_server.url)
    job = _sleeping_job(tmp_path, 314)
    try:
        assert eventually(lambda: _anywhere(["sleep", "314"]), timeout=120)  # a gateway worker's
        assert gateway_client.list_clusters()
        job.send_signal(signal.SIGKILL)
        job.wait()
        assert eventually(lambda: not gateway_client.list_clusters(), timeout=10)
    finally:
        job.kill()
    log = (_run_dir(tmp_path, "sleepy") / "cwl-dask.log").read_text(encoding="utf-8")
    assert "Dask Gateway cluster" in log.splitlines()[-1]
    assert "stopped" in log.splitlines()[-1]
