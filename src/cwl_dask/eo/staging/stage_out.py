"""stage-out: copy or upload a result STAC catalog (or a file); report its URI.

Usage: python3 stage_out.py [TARGET OPTIONS] --catalog DIRECTORY   (stage-out.cwl)
       python3 stage_out.py [TARGET OPTIONS] --file FILE           (stage-out-file.cwl)

DIRECTORY is a Directory output of the application: it holds catalog.json (else
collection.json) at its top or, for a `glob: .` output, in one sub-directory. The whole
directory (the catalog and every file beside it) is copied to TARGET/<id>-<digest>/,
where <id> is the catalog id and <digest> the first 12 hex digits of the SHA-256 of the
root document, so scattered stage-outs of different catalogs never collide and a rerun
gives the same name. A destination that exists already is never overwritten: a numeric
suffix is added. TARGET is a local directory (path or file://) or, with fsspec and
s3fs installed, an s3:// URL.

TARGET, first given wins: --target (cwl-dask's own input, stage_out_target); or, as
EOEPCA's ZOO template sets them (calrissian's spelling), s3://<--stageout-output>/<--process>;
or, as zoo-template-common sets them (eoap's spelling), s3://<--s3-bucket>/<--sub-path>.
S3 credentials, endpoint and region come with the spelling that named the target
(environment variables STAGEOUT_AWS_* or EOAP_*, set by the tool from its inputs), else
from what s3fs reads itself (AWS_* variables, profiles).

A plain Catalog whose Items hang from its root is staged out with those Items in a
Collection (see with_collection): platforms publish the first Collection they find.

Writes cwl.output.json: {"stac_catalog": {"value": <URI of the copied root document>}}
({"uri": ...} with --file, FILE copied to TARGET/<its name>). The catalog's hrefs must be
relative (a self-contained catalog) to stay valid after the copy; an absolute local href
is refused with the file and the href. Uploaded to S3, the catalog is published as
pystac's ABSOLUTE_PUBLISHED: every href an absolute s3:// URL and a self link in each
document (as eoap's stage-out writes the Items' assets): a platform publishes an Item or
the Collection alone, away from the catalog, and its links must still resolve.
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
import tempfile
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


def load_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_json(path, document):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


def has_collection(directory):
    for current, _dirs, files in os.walk(directory):
        for name in files:
            if name.endswith(".json"):
                document = load_json(os.path.join(current, name))
                if isinstance(document, dict) and document.get("type") == "Collection":
                    return True
    return False


def collection_of(root, items):
    """A Collection document for ``items`` (their bbox and time span), beside ``root``."""
    bboxes = [d["bbox"] for _p, d in items if len(d.get("bbox") or []) == 4]
    if bboxes:
        bbox = [min(b[0] for b in bboxes), min(b[1] for b in bboxes)]
        bbox += [max(b[2] for b in bboxes), max(b[3] for b in bboxes)]
    else:
        bbox = [-180.0, -90.0, 180.0, 90.0]
    times = []
    for _p, document in items:
        properties = document.get("properties") or {}
        for key in ("datetime", "start_datetime", "end_datetime"):
            if properties.get(key):
                times.append(properties[key])
    version = str(root.get("stac_version") or "1.0.0")
    links = [
        {"rel": "root", "href": "./catalog.json", "type": "application/json"},
        {"rel": "parent", "href": "./catalog.json", "type": "application/json"},
    ]
    links += [link for link in root.get("links", []) if link.get("rel") == "item"]
    return {
        "type": "Collection",
        "stac_version": version,
        "id": root["id"],
        "description": root.get("description") or "Results of " + root["id"],
        "license": "other" if version.startswith("1.1") else "proprietary",
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [[min(times), max(times)] if times else [None, None]]},
        },
        "links": links,
    }


def with_collection(directory, root_name):
    """(directory to stage out, scratch copy to remove or None): a Catalog of Items gains a
    Collection.

    Platforms publish the first Collection of a staged-out catalog (EOEPCA's template and
    zoo-template-common read next(get_all_collections())) and find none in a plain Catalog
    whose Items hang from its root. As EOEPCA's own stage-out does, the staged copy then puts
    those Items in a Collection (collection.json beside catalog.json, with the Catalog's id
    and the Items' extent); the application's directory is not changed.
    """
    root = load_json(os.path.join(directory, root_name))
    if not isinstance(root, dict) or root.get("type") != "Catalog" or not root.get("id"):
        return directory, None
    if has_collection(directory) or os.path.exists(os.path.join(directory, "collection.json")):
        return directory, None
    links = [link for link in root.get("links", []) if link.get("rel") == "item"]
    items = []
    for link in links:
        path = os.path.normpath(os.path.join(directory, link.get("href", "")))
        document = load_json(path)
        if not isinstance(document, dict) or document.get("type") != "Feature":
            return directory, None
        items.append((os.path.relpath(path, directory), document))
    if not items:
        return directory, None
    scratch = tempfile.mkdtemp(prefix="stage-out-")
    copy = os.path.join(scratch, "catalog")
    shutil.copytree(directory, copy)
    write_json(os.path.join(copy, "collection.json"), collection_of(root, items))
    root["links"] = [link for link in root["links"] if link.get("rel") != "item"]
    root["links"].append({"rel": "child", "href": "./collection.json", "type": "application/json"})
    write_json(os.path.join(copy, root_name), root)
    for relative, document in items:
        up = os.path.relpath("collection.json", os.path.dirname(relative) or ".")
        up = up.replace(os.sep, "/")
        document["collection"] = root["id"]
        structural = ("parent", "collection")
        kept = [k for k in document.get("links", []) if k.get("rel") not in structural]
        for rel in ("parent", "collection"):
            kept.append({"rel": rel, "href": up, "type": "application/json"})
        document["links"] = kept
        write_json(os.path.join(copy, relative), document)
    print("stage-out: the Items of " + root["id"] + " put in a Collection", file=sys.stderr)
    return copy, scratch


def s3_filesystem(prefix):
    """s3fs with the credentials of the spelling ``prefix`` (STAGEOUT_AWS_ or EOAP_)."""
    try:
        import fsspec
    except ImportError:
        fail("s3:// targets need fsspec and s3fs: pip install 'cwl-dask[s3]'")

    def setting(name):
        return os.environ.get(name, "").strip() or None

    if prefix == "EOAP_":
        key, secret = setting("EOAP_AWS_ACCESS_KEY_ID"), setting("EOAP_AWS_SECRET_ACCESS_KEY")
        endpoint, region = setting("EOAP_ENDPOINT_URL"), setting("EOAP_REGION_NAME")
    elif prefix:
        key, secret = setting(prefix + "ACCESS_KEY_ID"), setting(prefix + "SECRET_ACCESS_KEY")
        endpoint, region = setting(prefix + "SERVICEURL"), setting(prefix + "REGION")
    else:
        key = secret = endpoint = region = None
    options = {}
    if key and secret:
        options["key"], options["secret"] = key, secret
    client = {}
    if endpoint:
        client["endpoint_url"] = endpoint
    if region and region != "us-east-1":
        # s3fs sends the region as the LocationConstraint of a bucket it creates, which
        # S3 refuses for us-east-1 (the default region, which needs no constraint).
        client["region_name"] = region
    if client:
        options["client_kwargs"] = client
    return fsspec.filesystem("s3", skip_instance_cache=True, **options)


def bucket_url(bucket, path):
    bucket = bucket.strip().removeprefix("s3://").strip("/")
    path = (path or "").strip().strip("/")
    return "s3://" + bucket + ("/" + path if path else "")


def choose_target(args):
    """(target URL, credentials prefix) from the first spelling given."""
    if args.target:
        return args.target, ""
    if args.stageout_output:
        return bucket_url(args.stageout_output, args.process), "STAGEOUT_AWS_"
    if args.s3_bucket:
        return bucket_url(args.s3_bucket, args.sub_path), "EOAP_"
    fail(
        "no stage-out target: set stage_out_target, or STAGEOUT_OUTPUT (with process), "
        "or s3_bucket (with sub_path)"
    )
    return None


STAC_TYPES = ("Feature", "Catalog", "Collection")


def absolute_hrefs(path, destination, directory):
    """The STAC document at ``path`` as published under ``destination`` (the upload of
    ``directory``): every relative href of its links and assets made an absolute URL, and
    a ``self`` link; None for any other file (copied as it is)."""
    if not path.endswith(".json"):
        return None
    document = load_json(path)
    if not isinstance(document, dict) or document.get("type") not in STAC_TYPES:
        return None
    where = os.path.relpath(os.path.dirname(path), directory)

    def published(href):
        if not href or "://" in href:
            return href
        return destination + "/" + os.path.normpath(os.path.join(where, href)).replace(os.sep, "/")

    links = [link for link in document.get("links", []) if link.get("rel") != "self"]
    for entry in links + list((document.get("assets") or {}).values()):
        entry["href"] = published(entry.get("href", ""))
    own = published(os.path.basename(path))
    document["links"] = [{"rel": "self", "href": own, "type": "application/json"}, *links]
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def upload_catalog(fs, directory, destination):
    """Every file of ``directory`` under ``destination``, its STAC documents published with
    absolute hrefs."""
    fs.makedirs(destination, exist_ok=True)  # s3fs: creates the bucket if there is none
    for current, _dirs, files in os.walk(directory):
        for name in sorted(files):
            path = os.path.join(current, name)
            relative = os.path.relpath(path, directory).replace(os.sep, "/")
            rewritten = absolute_hrefs(path, destination, directory)
            if rewritten is None:
                fs.put_file(path, destination + "/" + relative)
            else:
                with fs.open(destination + "/" + relative, "wb") as out:
                    out.write(rewritten)


def free_name(exists, base):
    """``base``, else ``base-2``, ``base-3``…: an existing destination is never overwritten."""
    destination, n = base, 1
    while exists(destination):
        n += 1
        destination = base + "-" + str(n)
    return destination


def local_base(target):
    parsed = urllib.parse.urlparse(target)
    base = urllib.request.url2pathname(parsed.path) if parsed.scheme == "file" else target
    base = os.path.abspath(base)
    os.makedirs(base, exist_ok=True)
    return base


def stage_out_file(path, target, prefix):
    """``--file``: FILE copied to TARGET/<its name>; its URI."""
    if not os.path.isfile(path):
        fail("no such file: " + path)
    name = os.path.basename(path)
    scheme = urllib.parse.urlparse(target).scheme
    if scheme == "s3":
        fs = s3_filesystem(prefix)
        destination = free_name(fs.exists, target.rstrip("/") + "/" + name)
        fs.makedirs(target, exist_ok=True)  # s3fs: creates the bucket if there is none
        fs.put_file(path, destination)
        return destination
    if scheme in ("", "file"):
        destination = free_name(os.path.exists, os.path.join(local_base(target), name))
        shutil.copyfile(path, destination)
        return pathlib.Path(destination).as_uri()
    fail("unsupported target " + target + " (a directory, file:// or s3://)")
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", default="")
    parser.add_argument("--stageout-output", default="")
    parser.add_argument("--process", default="")
    parser.add_argument("--s3-bucket", default="")
    parser.add_argument("--sub-path", default="")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--catalog")
    what.add_argument("--file")
    args = parser.parse_args()
    target, prefix = choose_target(args)

    if args.file:
        uri = stage_out_file(args.file, target, prefix)
        with open("cwl.output.json", "w", encoding="utf-8") as out:
            json.dump({"uri": {"value": uri}}, out)
        print("stage-out: " + args.file + " -> " + uri, file=sys.stderr)
        return

    directory, root_name = find_root(args.catalog)
    check_relative(directory)
    directory, scratch = with_collection(directory, root_name)
    try:
        uri = stage_out_catalog(directory, root_name, target, prefix)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    print("stage-out: " + args.catalog + " -> " + uri, file=sys.stderr)


def stage_out_catalog(directory, root_name, target, prefix):
    with open(os.path.join(directory, root_name), "rb") as handle:
        content = handle.read()
    try:
        catalog_id = str(json.loads(content).get("id") or "catalog")
    except ValueError:
        fail(root_name + " in " + directory + " is not JSON")
    safe_id = "".join(c if c.isalnum() or c in "._-" else "_" for c in catalog_id).strip("._")
    name = (safe_id or "catalog") + "-" + hashlib.sha256(content).hexdigest()[:12]

    target = target.rstrip("/")
    scheme = urllib.parse.urlparse(target).scheme
    if scheme == "s3":
        fs = s3_filesystem(prefix)
        destination = free_name(fs.exists, target + "/" + name)
        upload_catalog(fs, directory, destination)
        uri = destination + "/" + root_name
    elif scheme in ("", "file"):
        destination = free_name(os.path.exists, os.path.join(local_base(target), name))
        shutil.copytree(directory, destination)
        uri = pathlib.Path(destination, root_name).as_uri()
    else:
        fail("unsupported target " + target + " (a directory, file:// or s3://)")
        return None
    with open("cwl.output.json", "w", encoding="utf-8") as out:
        json.dump({"stac_catalog": {"value": uri}}, out)
    return uri


if __name__ == "__main__":
    main()
