"""An entry's manifest: what makes an entry visible, and what every file must be on reuse.

An entry is ``<cache>/<key>/<writer>/…`` (the files one writer uploaded, below a prefix of
its own) plus ``<cache>/<key>/manifest.json``, written last, naming that writer, each file's
size and SHA-1, the output object with locations relative to the writer's prefix, and what
``cache ls`` and the usage report show (step, image, seconds the tool took, when).
Two runs writing the same entry at once each upload below their own prefix; whichever
manifest lands last wins, and both are whole.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from cwl_dask.data.cache.key import FORMAT

MANIFEST = "manifest.json"


class DamagedEntry(Exception):
    """An entry that cannot be reused (the message says why); it is recomputed."""


@dataclass
class FileRecord:
    size: int
    checksum: str  # sha1$<hex>, as cwltool writes checksums


@dataclass
class Manifest:
    key: str
    writer: str
    output: dict[str, Any]
    files: dict[str, FileRecord] = field(default_factory=dict)
    directories: list[str] = field(default_factory=list)
    step: str = ""
    image: str = ""
    seconds: float = 0.0  # how long the tool ran: what a hit saves
    created: float = 0.0
    format: int = FORMAT

    @property
    def size(self) -> int:
        return sum(record.size for record in self.files.values())

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=1).encode()

    @staticmethod
    def from_json(data: bytes, key: str) -> Manifest:
        """The manifest of entry ``key``; :class:`DamagedEntry` if it is not one."""
        try:
            raw = json.loads(data)
            files = {str(k): FileRecord(int(v["size"]), str(v["checksum"])) for k, v in
                     raw.pop("files").items()}  # fmt: skip
            manifest = Manifest(files=files, **raw)
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise DamagedEntry(
                f"its manifest is unreadable ({type(err).__name__}: {err})"
            ) from None
        if manifest.key != key:
            raise DamagedEntry(f"its manifest is for another key ({manifest.key})")
        if not isinstance(manifest.output, dict):
            raise DamagedEntry("its manifest has no output object")
        for rel in [*manifest.files, *manifest.directories]:
            if rel.startswith("/") or ".." in rel.split("/"):
                raise DamagedEntry(f"its manifest names a path outside the entry: {rel}")
        return manifest
