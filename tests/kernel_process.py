"""A service process in the state the ZOO-Project kernel leaves it, running ZooDaskRunner.

Usage: ``python kernel_process.py REQUEST.json RESULT.json``. REQUEST.json holds
``package`` (a path), ``conf``, ``inputs``, ``outputs``, ``cgi_bin`` (the cwd) and
``stdout`` (a file standing for the CGI pipe of a synchronous request). Before the runner
starts, the process gets what ``shared/zoo-project/README.md`` measured inside the kernel:
SIGCHLD ignored, the CGI request in the environment (``HTTP_AUTHORIZATION`` among it), the
cgi-bin folder as cwd and fd 1 on the "response". Then the service writes its reply on
fd 1, as the kernel does after the service returns. RESULT.json gets the code, the status
messages and the output dict.
(The kernel's C handlers of SIGTERM/SIGINT, which Python reads as ``None``, cannot be set
from Python before it starts: tests/test_zoo_kernel.py meets them in the real kernel, over
HTTP.) This reproduces the rest in a process a test can SIGKILL and inspect.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import types
from pathlib import Path

REQUEST_VARIABLES = {
    "GATEWAY_INTERFACE": "CGI/1.1",
    "REQUEST_METHOD": "POST",
    "QUERY_STRING": "",
    "CONTENT_LENGTH": "42",
    "HTTP_AUTHORIZATION": "Bearer the-users-token",
    "SERVER_NAME": "127.0.0.1",
    "SCRIPT_NAME": "/cgi-bin/zoo_loader.cgi",
}


def impose_kernel_conditions(cgi_bin: Path, stdout: Path) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    os.environ.update(REQUEST_VARIABLES)
    os.chdir(cgi_bin)
    fd = os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.close(fd)


def main() -> None:
    request = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    impose_kernel_conditions(Path(request["cgi_bin"]), Path(request["stdout"]))
    statuses: list[list[object]] = []
    zoo = types.ModuleType("zoo")
    zoo.SERVICE_SUCCEEDED, zoo.SERVICE_FAILED = 3, 4  # type: ignore[attr-defined]
    zoo.update_status = lambda conf, p: statuses.append([p, conf["lenv"]["message"]])  # type: ignore[attr-defined]
    zoo._ = lambda message: message  # type: ignore[attr-defined]
    sys.modules["zoo"] = zoo

    from cwl_dask.zoo import ZooDaskRunner, load_package

    conf, outputs = request["conf"], request["outputs"]
    runner = ZooDaskRunner(load_package(request["package"]), conf, request["inputs"], outputs)
    code = runner.execute()
    os.write(1, b"Status: 200 OK\r\n\r\n{}")  # the kernel's reply, after the service
    result = {
        "code": code,
        "statuses": statuses,
        "outputs": outputs,
        "sigchld_after": int(signal.getsignal(signal.SIGCHLD)),
        "environment_after": {k: os.environ.get(k) for k in REQUEST_VARIABLES},
    }
    Path(sys.argv[2]).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
