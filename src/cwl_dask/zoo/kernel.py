"""What the ZOO-Project kernel imposes on a service's process, undone for the run.

The kernel (``zoo_loader.cgi``) runs each request in a fresh process with embedded Python
(see ``shared/zoo-project/README.md``, measured there), and leaves it in a state in which
a workflow runner goes wrong in silence:

- **SIGCHLD is ignored**: every child's exit code reads 0, so a failing tool seemed to
  succeed (:func:`cwl_dask.driver.children.child_exit_codes` restores the default);
- **fd 1 is the HTTP response** of a synchronous request: a byte written there by the
  service, a Dask worker process or a tool that inherits it makes Apache answer 500. For
  the run, fd 1 is a copy of fd 2, and the kernel gets its own back for the reply;
- **fd 2 of an asynchronous job is a file the kernel deletes** when the job ends: whatever
  reached it (worker processes' logs, tracebacks) is copied into the run directory as
  :data:`STDERR_NAME`, beside the job log where the job's links point;
- **the CGI request is in the environment** (``HTTP_AUTHORIZATION``, ``QUERY_STRING``…),
  which Dask workers and tools would inherit: removed for the run, put back after;
- **scratch space**: the cwd is the shared cgi-bin folder and Dask's default scratch is one
  ``/tmp/dask-scratch-space`` for all jobs; the run gets ``TMPDIR`` and Dask's
  ``temporary-directory`` inside its own directory under ``tmpPath``;
- **a dismissed job is SIGKILLed**, one process: a watcher (:mod:`cwl_dask.zoo.lifeline`)
  stops what it leaves;
- **the locale is ``LC_ALL=en_US``** unless the request names a language, a locale that a
  minimal image lacks: Python then writes files as ASCII, and cwltool failed to stage a
  script holding one non-ASCII character. The run gets ``C.UTF-8`` (``LC_CTYPE`` in the
  process, ``LC_ALL`` for its children), the kernel's back after.

Two things the kernel reads after the service returns are written here too
(:func:`report_to_kernel`): an asynchronous job's failure message comes from
``conf["lenv"]["gs_message"]`` (not ``message``: without it the job says "No message
provided"), and a job's log links from ``{tmpPath}/{usid}_logs.cfg``, which only the
FastCGI kernel of ZOO-Project-DRU writes from ``conf["service_logs"]``; the CGI kernel never
does, so the runner writes one naming its own log and the tool logs (DRU's kernel overwrites
it with the template's, which name the same logs).

SIGTERM and SIGINT keep the kernel's C handlers (``driver/stopping.py`` leaves a handler it
cannot restore alone). The same holds outside ZOO (tests, notebooks): each point is either
harmless there or only restores a default.
"""

from __future__ import annotations

import contextlib
import locale
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from cwl_dask.clusters.lifeline import listening
from cwl_dask.driver.children import child_exit_codes
from cwl_dask.zoo.lifeline import Lifeline

#: The copy of the job's stderr kept in its run directory.
STDERR_NAME = "stderr.log"

#: RFC 3875's meta-variables and Apache's additions that describe the request.
CGI_VARIABLES = frozenset(
    {
        "AUTH_TYPE",
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "GATEWAY_INTERFACE",
        "PATH_INFO",
        "PATH_TRANSLATED",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_IDENT",
        "REMOTE_PORT",
        "REMOTE_USER",
        "REQUEST_METHOD",
        "REQUEST_SCHEME",
        "REQUEST_URI",
        "SCRIPT_FILENAME",
        "SCRIPT_NAME",
        "SCRIPT_URI",
        "SCRIPT_URL",
        "SERVER_ADDR",
        "SERVER_ADMIN",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SIGNATURE",
        "SERVER_SOFTWARE",
        "DOCUMENT_ROOT",
        "CONTEXT_DOCUMENT_ROOT",
        "CONTEXT_PREFIX",
        "UNIQUE_ID",
        "HTTPS",
    }
)
#: Prefixes of request variables: headers (``HTTP_*``), rewrites, TLS client details.
CGI_PREFIXES = ("HTTP_", "REDIRECT_", "SSL_")


def is_request_variable(name: str) -> bool:
    """Whether ``name`` describes the HTTP request the kernel is answering."""
    return name in CGI_VARIABLES or name.startswith(CGI_PREFIXES)


@contextmanager
def service_process(run_dir: Path, job_log: Path) -> Iterator[None]:
    """The block runs with the process as a run needs it (see the module's docstring)."""
    with ExitStack() as stack:
        stack.enter_context(child_exit_codes())
        stack.enter_context(_stdout_kept_for_the_kernel())
        stack.enter_context(_stderr_kept(run_dir / STDERR_NAME))
        stack.enter_context(_without_request_variables())
        stack.enter_context(_scratch_in(run_dir))
        stack.enter_context(_utf8_locale())
        watcher = Lifeline(job_log)
        stack.enter_context(listening(watcher.cluster))
        try:
            yield
        finally:
            stack.close()  # the run's clusters are closed before the watcher leaves
            watcher.done()


@contextmanager
def _stdout_kept_for_the_kernel() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextmanager
def _stderr_kept(copy: Path) -> Iterator[None]:
    """Copy what fd 2 received during the block, when fd 2 is a file (an async job's)."""
    sys.stderr.flush()
    try:
        info = os.fstat(2)
    except OSError:
        info = None
    regular = info is not None and stat.S_ISREG(info.st_mode)
    start = os.lseek(2, 0, os.SEEK_CUR) if regular else 0
    try:
        yield
    finally:
        if regular:
            sys.stderr.flush()
            try:
                with open("/proc/self/fd/2", "rb") as source, copy.open("ab") as target:
                    source.seek(start)
                    shutil.copyfileobj(source, target)
            except OSError:
                pass


@contextmanager
def _without_request_variables() -> Iterator[None]:
    removed = {name: value for name, value in os.environ.items() if is_request_variable(name)}
    for name in removed:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(removed)


@contextmanager
def _scratch_in(run_dir: Path) -> Iterator[None]:
    import tempfile

    import dask.config

    scratch = run_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(scratch)
    tempfile.tempdir = None  # tempfile caches its choice: look again
    try:
        with dask.config.set({"temporary-directory": str(run_dir / "dask-scratch-space")}):
            yield
    finally:
        if previous is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous
        tempfile.tempdir = None


@contextmanager
def _utf8_locale() -> Iterator[None]:
    if locale.getpreferredencoding(False).replace("-", "").lower() == "utf8":
        yield
        return
    previous_ctype = locale.setlocale(locale.LC_CTYPE)
    previous_all = os.environ.get("LC_ALL")
    try:
        locale.setlocale(locale.LC_CTYPE, "C.UTF-8")
    except locale.Error:  # no C.UTF-8 either (rare since glibc 2.35): nothing better
        yield
        return
    os.environ["LC_ALL"] = "C.UTF-8"
    try:
        yield
    finally:
        locale.setlocale(locale.LC_CTYPE, previous_ctype)
        if previous_all is None:
            os.environ.pop("LC_ALL", None)
        else:
            os.environ["LC_ALL"] = previous_all


def report_to_kernel(
    conf: dict[str, Any], failure: str | None, links: list[tuple[str, str]]
) -> None:
    """Leave the failure message and the log links where the kernel reads them (see the
    module's docstring); ``links`` are (URL, title) pairs."""
    lenv = conf.setdefault("lenv", {})
    if failure is not None:
        lenv["gs_message"] = failure
    tmp, usid = conf.get("main", {}).get("tmpPath"), lenv.get("usid")
    if not (tmp and usid and links):
        return
    lines = ["[service_logs]"]
    for index, (url, title) in enumerate(links):
        suffix = f"_{index}" if index else ""
        lines += [f"url{suffix}={url}", f"title{suffix}={title}", f"rel{suffix}=related"]
    lines.append(f"length={len(links)}")
    # links are a convenience: the run's outcome stands without them
    with contextlib.suppress(OSError):
        Path(tmp, f"{usid}_logs.cfg").write_text("\n".join(lines) + "\n", encoding="utf-8")
