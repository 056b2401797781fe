"""stage-out: copy or upload a result STAC catalog; report its URI.

Usage: python3 stage_out.py --target TARGET --catalog DIRECTORY

DIRECTORY is a Directory output of the application: it holds catalog.json (else
collection.json) at its top or, for a `glob: .` output, in one sub-directory. The whole
directory (the catalog and every file beside it) is copied to TARGET/<id>-<digest>/,
where <id> is the catalog id and <digest> the first 12 hex digits of the SHA-256 of the
root document, so scattered stage-outs of different catalogs never collide and a rerun
gives the same name. A destination that exists already is never overwritten: a numeric
suffix is added. TARGET is a local directory (path or file://) or, with fsspec and
s3fs installed, an s3:// URL.

Writes cwl.output.json: {"stac_catalog": {"value": <URI of the copied root document>}}.
The catalog's hrefs must be relative (a self-contained catalog) to stay valid after the
copy; an absolute local href is refused with the file and the href.
NB: this file is embedded into stage-out.cwl with an include, so it must contain no
dollar sign followed by a parenthesis or brace, and no double backslash.
"""

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import sys
import urllib.parse
import urllib.request

ROOT_NAMES = ("catalog.json", "collection.json")


def fail(message):
    print("stage-out: " + message, file=sys.stderr)
    raise SystemExit(1)


def find_root(directory):
    for name in ROOT_NAMES:
        if os.path.isfile(os.path.join(directory, name)):
            return directory, name
    found = []
    for sub in sorted(os.listdir(directory)):
        path = os.path.join(directory, sub)
        for name in ROOT_NAMES:
            if os.path.isdir(path) and os.path.isfile(os.path.join(path, name)):
                found.append((path, name))
                break
    if len(found) == 1:
        return found[0]
    if not found:
        fail("no catalog.json or collection.json in " + directory + " or its sub-directories")
    fail("several catalogs in " + directory + ": " + ", ".join(p for p, _ in found))
    return None


def check_relative(directory):
    """Absolute local hrefs would point back into the job's working directory."""
    for current, _dirs, files in os.walk(directory):
        for name in files:
            if not name.endswith(".json"):
                continue
            path = os.path.join(current, name)
            try:
                with open(path, encoding="utf-8") as handle:
                    document = json.load(handle)
            except ValueError:
                continue
            if not isinstance(document, dict):
                continue
            hrefs = [link.get("href", "") for link in document.get("links", [])]
            hrefs += [asset.get("href", "") for asset in document.get("assets", {}).values()]
            for href in hrefs:
                if href.startswith("/") or href.startswith("file:"):
                    fail(
                        path
                        + " has an absolute local href "
                        + href
                        + "; write a self-contained catalog"
                    )


def s3_filesystem():
    try:
        import fsspec
    except ImportError:
        fail("s3:// targets need fsspec and s3fs: pip install 'cwl-dask[s3]'")
    return fsspec.filesystem("s3")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--catalog", required=True)
    args = parser.parse_args()

    directory, root_name = find_root(args.catalog)
    check_relative(directory)
    with open(os.path.join(directory, root_name), "rb") as handle:
        content = handle.read()
    try:
        catalog_id = str(json.loads(content).get("id") or "catalog")
    except ValueError:
        fail(root_name + " in " + directory + " is not JSON")
    safe_id = "".join(c if c.isalnum() or c in "._-" else "_" for c in catalog_id).strip("._")
    name = (safe_id or "catalog") + "-" + hashlib.sha256(content).hexdigest()[:12]

    target = args.target.rstrip("/")
    scheme = urllib.parse.urlparse(target).scheme
    if scheme == "s3":
        fs = s3_filesystem()
        destination, n = target + "/" + name, 1
        while fs.exists(destination):
            n += 1
            destination = target + "/" + name + "-" + str(n)
        fs.put(directory.rstrip("/") + "/", destination + "/", recursive=True)
        uri = destination + "/" + root_name
    elif scheme in ("", "file"):
        base = urllib.request.url2pathname(urllib.parse.urlparse(target).path) if scheme else target
        base = os.path.abspath(base)
        os.makedirs(base, exist_ok=True)
        destination, n = os.path.join(base, name), 1
        while os.path.exists(destination):
            n += 1
            destination = os.path.join(base, name + "-" + str(n))
        shutil.copytree(directory, destination)
        uri = pathlib.Path(destination, root_name).as_uri()
    else:
        fail("unsupported target " + args.target + " (a directory, file:// or s3://)")
        return
    with open("cwl.output.json", "w", encoding="utf-8") as out:
        json.dump({"stac_catalog": {"value": uri}}, out)
    print("stage-out: " + directory + " -> " + uri, file=sys.stderr)


if __name__ == "__main__":
    main()
