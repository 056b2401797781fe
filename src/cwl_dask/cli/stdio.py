"""Keep standard output for the result JSON alone.

cwltest and scripts parse stdout as the output object, but tools without a ``stdout:``
redirect, worker processes and libraries may all write to file descriptor 1. While a run
is active, descriptor 1 points at stderr — inherited by every worker process and tool the
run spawns — and the result goes to a private duplicate of the original stdout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO


@contextmanager
def reserved_stdout() -> Iterator[IO[str]]:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    result = os.fdopen(os.dup(saved), "w", encoding="utf-8")
    try:
        yield result
    finally:
        result.flush()
        result.close()
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
