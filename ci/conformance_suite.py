"""Find the CWL v1.2 conformance suite for ci/conformance.sh, or fetch the pinned commit.

Prints the suite's directory on stdout (exit 0). Looked for, in order:

1. ``$CWL_V12_SUITE`` (named explicitly: missing there is an error, exit 2);
2. ``../shared/cwl-v1.2`` beside the repository (what CI has);
3. the user cache, ``${XDG_CACHE_HOME:-~/.cache}/cwl-dask/cwl-v1.2-<commit>``;
4. the pinned commit of common-workflow-language/cwl-v1.2 (ci/conformance/SUITE_COMMIT),
   downloaded into that cache when the network allows, as cwltool's CI fetches it
   (``$CWL_V12_UPSTREAM`` names a mirror with GitHub's ``/archive/<commit>.tar.gz`` layout).

When none works, says how to get it on stderr and exits 3: the caller skips the suite
rather than failing a first ``tox`` on a machine that cannot fetch it, unless
``CONFORMANCE_REQUIRED=1`` (CI), which makes that exit 2.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = os.environ.get(
    "CWL_V12_UPSTREAM", "https://github.com/common-workflow-language/cwl-v1.2"
)
TIMEOUT = float(os.environ.get("CONFORMANCE_FETCH_TIMEOUT", "60"))


def pinned_commit() -> str:
    return (ROOT / "ci" / "conformance" / "SUITE_COMMIT").read_text().split()[0]


def is_suite(path: Path) -> bool:
    return (path / "conformance_tests.yaml").is_file()


def cache_dir(commit: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cwl-dask" / f"cwl-v1.2-{commit}"


def fetch(commit: str, target: Path) -> None:
    """Download the commit's tarball and unpack it as ``target`` (atomically: a rename)."""
    url = f"{UPSTREAM}/archive/{commit}.tar.gz"
    print(f"conformance: fetching {url}", file=sys.stderr)
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        data = response.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".fetch-", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(scratch, filter="data")
            else:  # pragma: no cover - Pythons before 3.11.4
                archive.extractall(scratch)
        [top] = list(scratch.iterdir())
        if not is_suite(top):
            raise OSError(f"{url} has no conformance_tests.yaml")
        (top / "SOURCE_COMMIT").write_text(commit + "\n")
        top.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def how_to_get(commit: str, why: str) -> str:
    shared = ROOT.parent / "shared" / "cwl-v1.2"
    return (
        f"conformance: SKIPPED: the CWL v1.2 conformance suite is not here ({why}).\n"
        "Get it once (any of these), then run `tox -e conformance` again:\n"
        f"  git clone {UPSTREAM} {shared} && git -C {shared} checkout {commit}\n"
        f"  export CWL_V12_SUITE=/path/to/cwl-v1.2   # a checkout of {commit[:12]}\n"
        "  (with network access the suite is fetched by itself into the user cache)"
    )


def main() -> int:
    named = os.environ.get("CWL_V12_SUITE")
    if named:
        if is_suite(Path(named)):
            print(named)
            return 0
        print(f"conformance: CWL_V12_SUITE={named} has no conformance_tests.yaml", file=sys.stderr)
        return 2
    commit = pinned_commit()
    shared = ROOT.parent / "shared" / "cwl-v1.2"
    cached = cache_dir(commit)
    for candidate in (shared, cached):
        if is_suite(candidate):
            print(candidate)
            return 0
    try:
        fetch(commit, cached)
    except (OSError, ValueError, tarfile.TarError) as err:  # URLError is an OSError
        print(how_to_get(commit, f"cannot fetch it: {err}"), file=sys.stderr)
        return 2 if os.environ.get("CONFORMANCE_REQUIRED") == "1" else 3
    print(cached)
    return 0


if __name__ == "__main__":
    sys.exit(main())
