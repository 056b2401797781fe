"""Say what is wrong with the command line: options misplaced, mistyped, or out of range.

As with cwltool, everything after the workflow is the job: a job file and ``--INPUT VALUE``
pairs. A misspelt cwl-dask option there (``--outdri x``) is taken for an input, and
cwltool's input parser then answers with the inputs' usage line, which does not say
what was wrong. This names the options that are no input of the process, and the
cwl-dask option each one probably meant.
"""

from __future__ import annotations

import difflib
import logging

import click

_logger = logging.getLogger("cwl_dask")


def _run_options() -> list[str]:
    """The ``--options`` of the command being run (``cwl-dask run``: the only caller), read
    from click's context rather than by importing the command, which imports this module."""
    context = click.get_current_context(silent=True)
    params = context.command.params if context is not None else []
    return [opt for param in params for opt in getattr(param, "opts", []) if opt[:2] == "--"]


def _input_names(workflow: str) -> list[str] | None:
    from cwl_dask.documents.loading import load_process
    from cwl_dask.errors import CwlDaskError

    try:
        process = load_process(workflow)
    except (CwlDaskError, Exception):  # the document's own error was reported already
        return None
    return [str(i["id"]).rsplit("#", 1)[-1].rsplit("/", 1)[-1] for i in process.tool["inputs"]]


def misplaced_options(workflow: str, job_args: list[str]) -> str | None:
    """A message naming the ``--options`` in ``job_args`` that are no input, or None."""
    given = [arg.split("=", 1)[0] for arg in job_args if arg.startswith("--") and len(arg) > 2]
    if not given:
        return None
    inputs = _input_names(workflow)
    if inputs is None:
        return None
    unknown = [opt for opt in given if opt[2:] not in inputs]
    if not unknown:
        return None
    options = _run_options()
    lines = []
    for opt in unknown:
        close = difflib.get_close_matches(opt, options, n=1, cutoff=0.75)
        meant = f"; did you mean the cwl-dask option {close[0]}?" if close else ""
        lines.append(f"unknown option {opt}: not an input of {workflow}{meant}")
    listed = ", ".join(f"--{name}" for name in inputs) or "none"
    lines.append(
        f"arguments after the workflow are its inputs ({listed}); "
        "cwl-dask's own options go before the workflow"
    )
    return "\n".join(lines)


def unknown_option(given: str) -> str:
    """The message for an unknown ``--option`` before the workflow, naming the one meant.

    ``run`` passes unknown options through (they may be inputs after the workflow), so
    one before the workflow would be taken for the workflow and reach cwltool's parser,
    whose usage names cwltool's options, not cwl-dask's.
    """
    name = given.split("=", 1)[0]
    close = difflib.get_close_matches(name, _run_options(), n=1, cutoff=0.6)
    meant = f"; did you mean {close[0]}?" if close else ""
    return f"no such option: {name}{meant} (see cwl-dask run --help)"


def memory_option(_ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """A memory option in MiB: a plain number is MiB (as CWL's ramMin); ``8GiB``/``512MB``
    work too. A click callback, so that a bad value is reported with the option's name."""
    if value is None:
        return None
    try:
        mib = float(value)
    except ValueError:
        from dask.utils import parse_bytes

        try:
            mib = parse_bytes(value) / 2**20
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is no memory size (MiB, or e.g. 8GiB, 512MB)", param=param
            ) from None
    if not mib > 0:
        raise click.BadParameter(f"{value!r}: must be more than 0", param=param)
    return mib
