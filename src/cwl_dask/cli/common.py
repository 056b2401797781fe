"""What every ``cwl-dask`` command shares: logging, error handling, the import cache.

Each command lives in its own module; these helpers are the part of them that must behave
the same everywhere: the stderr log handler, one short message and an exit code for an error
(a traceback only with ``--debug``), and the ``--import-cache``/``--offline`` options. The
command modules import this one and never each other, so there is no import cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import click

from cwl_dask.errors import EXIT_FAILED, CwlDaskError, RunStopped

_logger = logging.getLogger("cwl_dask")

EXIT_INTERRUPTED = 130


def configure_logging(quiet: bool, debug: bool, json_lines: bool = False) -> logging.Handler:
    from cwl_dask.observe.progress import StderrHandler

    handler = StderrHandler(json_lines)
    _logger.handlers[:] = [handler]
    _logger.propagate = False
    _logger.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    return handler


def say(message: str) -> None:
    """An error line on stderr; a JSON object like every other line with --log-format json."""
    if any(getattr(handler, "json_lines", False) for handler in _logger.handlers):
        _logger.error(message)
    else:
        click.echo(message, err=True)


def guarded(debug: bool, action: Callable[[], int]) -> int:
    """Run ``action``; turn errors into a message and an exit code."""
    try:
        return action()
    except CwlDaskError as err:
        if debug:
            raise
        say(f"cwl-dask: error: {err}")
        return err.exit_code
    except RunStopped as err:
        click.echo(f"cwl-dask: {err}", err=True)
        return err.exit_code
    except KeyboardInterrupt:
        say("cwl-dask: interrupted")
        return EXIT_INTERRUPTED
    except Exception as err:
        if debug:
            raise
        say(f"cwl-dask: internal error: {type(err).__name__}: {err} (see --debug)")
        return EXIT_FAILED


def import_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--import-cache`` and ``--offline``, shared by every command that loads documents."""
    command = click.option(
        "--offline",
        is_flag=True,
        help="Never fetch remote $import/$include/$schemas/run: documents; one missing "
        "from the import cache is an error (exit 2). Dask config: cwl-dask.offline.",
    )(command)
    return click.option(
        "--import-cache",
        default=None,
        metavar="DIR",
        help="Cache of remote documents the package loads (default: Dask config "
        "cwl-dask.import-cache, else the user cache dir, e.g. ~/.cache/cwl-dask/imports).",
    )(command)


def configured_imports(import_cache: str | None, offline: bool) -> Any:
    from cwl_dask.documents.imports import ImportCache

    return ImportCache.configured(import_cache, offline)
