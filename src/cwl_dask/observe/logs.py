"""Where each invocation's log lives: written in the run directory, kept in the logs directory.

Workers write an invocation's log (the tool's stdout/stderr and cwltool's messages about it)
into the run directory, which every worker sees; when the invocation ends the driver moves
it to the logs directory (by default ``<outdir>/.cwl-dask/logs``), which only the driver
needs to see. Names follow the step: ``<step>.log``, then ``<step>.<i>.log`` for the i-th
invocation of a scattered step (cwltool's job ``<step>_<i>``). An attempt that
``--retry-tool`` runs again keeps its log as ``<name>.attempt<n>.log``, so the retry does not
overwrite it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil

_logger = logging.getLogger("cwl_dask")


class InvocationLogs:
    def __init__(self, write_dir: str, keep_dir: str | None) -> None:
        self.write_dir = write_dir
        self.keep_dir = None if keep_dir == write_dir else keep_dir
        self._names: dict[str, str] = {}

    def path_for(self, name: str, step: str) -> str:
        """Where the worker writes the log of job ``name`` (``step`` or ``step_<i>``)."""
        index = name[len(step) + 1 :] if name != step and name.startswith(f"{step}_") else ""
        safe = re.sub(r"[^0-9A-Za-z_.+-]", "_", step) or "step"
        file_name = f"{safe}.{index}.log" if index else f"{safe}.log"
        self._names[name] = file_name
        return os.path.join(self.write_dir, file_name)

    def keep(self, name: str, path: str) -> str:
        """Move the log of a finished job to the logs directory; return where it is now."""
        if not self.keep_dir:
            return path
        source = path or os.path.join(self.write_dir, self._names.get(name, ""))
        if not os.path.isfile(source):
            return path
        target = os.path.join(self.keep_dir, os.path.basename(source))
        try:
            os.makedirs(self.keep_dir, exist_ok=True)
            shutil.move(source, target)
        except OSError as err:
            _logger.warning("cannot keep the log of %s in %s: %s", name, target, err)
            return source
        return target

    def set_aside(self, path: str, attempt: int) -> str:
        """Rename the log of a failed attempt to ``<name>.attempt<n>.log``; return its path."""
        if not path or not os.path.isfile(path):
            return path
        stem = path[: -len(".log")] if path.endswith(".log") else path
        target = f"{stem}.attempt{attempt}.log"
        try:
            os.replace(path, target)
        except OSError as err:
            _logger.warning("cannot keep the log of attempt %d as %s: %s", attempt, target, err)
            return path
        return target
