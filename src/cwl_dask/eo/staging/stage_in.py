"""stage-in: a STAC reference -> a local, self-contained STAC catalog directory.

Usage: python3 stage_in.py REFERENCE          (stage-in.cwl: a Directory)
       python3 stage_in.py --file REFERENCE   (stage-in-file.cwl: a File)

REFERENCE is a local path (a STAC JSON file, or a directory holding catalog.json or
collection.json), a file:// or http(s):// URL, or an s3:// URL of a STAC JSON document or
of a prefix holding catalog.json or collection.json (needs fsspec and s3fs).
It may also be an eoap URI record as JSON ({"value": ...}, or {"href": ...} as older
wrappers wrote it).

Writes ./<name>/catalog.json (name: the reference's STAC id, sanitised), one
<item-id>/<item-id>.json per Item reachable from the reference and every asset of each
Item downloaded beside it; all hrefs relative (pystac SELF_CONTAINED). Then writes
cwl.output.json naming that directory as the output "staged". With --file the
reference is any file, downloaded as ./<its base name>, and "staged" is that File.

S3 credentials and endpoint, first found wins: the calrissian spelling
(STAGEIN_AWS_ACCESS_KEY_ID, STAGEIN_AWS_SECRET_ACCESS_KEY, STAGEIN_AWS_SERVICEURL,
STAGEIN_AWS_REGION), the eoap spelling of the tool's inputs (set by the tool as
EOAP_AWS_ACCESS_KEY_ID, EOAP_AWS_SECRET_ACCESS_KEY, EOAP_ENDPOINT_URL, EOAP_REGION_NAME),
else what s3fs reads itself (AWS_* variables, profiles).

Kept to the standard library plus pystac so that it runs in any Python 3 with pystac.
NB: this file is embedded into stage-in.cwl with an include, so it must contain no
dollar sign followed by a parenthesis or brace, and no double backslash.
"""

import json
import os
import re
import shutil
import sys
import urllib.parse
import urllib.request

import pystac
from pystac.stac_io import DefaultStacIO

STRUCTURE = ("root", "parent", "self", "collection", "child", "item")


def fail(message):
    print("stage-in: " + message, file=sys.stderr)
    raise SystemExit(1)


def parse_reference(text):
    """The URL or path in REFERENCE (a plain string or a URI record)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError:
            fail("not a URI record: " + text)
        text = record.get("value") or record.get("href") or ""
    if not text:
        fail("empty reference")
    return text


def setting(*names):
    """The first of the environment variables ``names`` that is set and not empty."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def s3_filesystem():
    try:
        import fsspec
    except ImportError:
        fail("s3:// references need fsspec and s3fs: pip install 'cwl-dask[s3]'")
    options = {}
    key = setting("STAGEIN_AWS_ACCESS_KEY_ID", "EOAP_AWS_ACCESS_KEY_ID")
    secret = setting("STAGEIN_AWS_SECRET_ACCESS_KEY", "EOAP_AWS_SECRET_ACCESS_KEY")
    if key and secret:
        options["key"], options["secret"] = key, secret
    client = {}
    endpoint = setting("STAGEIN_AWS_SERVICEURL", "EOAP_ENDPOINT_URL")
    region = setting("STAGEIN_AWS_REGION", "EOAP_REGION_NAME")
    if endpoint:
        client["endpoint_url"] = endpoint
    if region:
        client["region_name"] = region
    if client:
        options["client_kwargs"] = client
    return fsspec.filesystem("s3", skip_instance_cache=True, **options)


def open_remote(href):
    scheme = urllib.parse.urlparse(href).scheme
    if scheme == "s3":
        return s3_filesystem().open(href, "rb")
    return urllib.request.urlopen(href, timeout=60)


class StageIO(DefaultStacIO):
    """pystac I/O that also reads s3:// (pystac itself reads files and http)."""

    def read_text_from_href(self, href):
        if href.startswith("s3://"):
            with open_remote(href) as stream:
                return stream.read().decode("utf-8")
        return super().read_text_from_href(href)


def to_href(reference):
    """An absolute local path or a URL pystac can read."""
    parsed = urllib.parse.urlparse(reference)
    if parsed.scheme == "file":
        reference = urllib.request.url2pathname(parsed.path)
    elif parsed.scheme in ("http", "https"):
        return reference
    elif parsed.scheme == "s3":
        return s3_root_document(reference)
    elif parsed.scheme and len(parsed.scheme) > 1:
        fail("unsupported scheme " + parsed.scheme + ": " + reference)
    path = os.path.abspath(reference)
    if os.path.isdir(path):
        for name in ("catalog.json", "collection.json"):
            if os.path.isfile(os.path.join(path, name)):
                return os.path.join(path, name)
        fail("no catalog.json or collection.json in " + path)
    if not os.path.isfile(path):
        fail("no such file: " + path)
    return path


def s3_root_document(url):
    """An s3:// URL as given, or, for a prefix (a "directory"), its catalog.json or
    collection.json: the same rule as for a local directory."""
    if url.endswith(".json"):
        return url
    fs = s3_filesystem()
    if fs.isfile(url):
        return url
    for name in ("catalog.json", "collection.json"):
        if fs.isfile(url.rstrip("/") + "/" + name):
            return url.rstrip("/") + "/" + name
    fail("no catalog.json or collection.json under " + url)
    return None


def safe_name(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "staged"


def fetch(href, destination):
    parsed = urllib.parse.urlparse(href)
    if parsed.scheme in ("", "file"):
        source = urllib.request.url2pathname(parsed.path) if parsed.scheme else href
        shutil.copyfile(source, destination)
        return
    with open_remote(href) as stream, open(destination, "wb") as out:
        shutil.copyfileobj(stream, out)


def items_of(stac_object):
    if isinstance(stac_object, pystac.Item):
        return [stac_object]
    return list(stac_object.get_items(recursive=True))


def stage(reference):
    href = to_href(reference)
    io = StageIO()
    try:
        source = pystac.read_file(href, stac_io=io)
    except Exception as err:
        fail("cannot read STAC from " + href + ": " + str(err))
    items = items_of(source)
    if not items:
        fail("no STAC Item in " + href)
    name = safe_name(source.id)
    root = os.path.abspath(name)
    catalog = pystac.Catalog(
        id=source.id,
        description="Staged from " + href,
        title=getattr(source, "title", None),
    )
    seen = set()
    for item in sorted(items, key=lambda i: i.id):
        if item.id in seen:
            fail("two Items with the id " + item.id + " in " + href)
        seen.add(item.id)
        staged = item.clone()
        # Structure comes from the new catalog; other links keep pointing at the source.
        staged.clear_links()
        for link in item.links:
            if link.rel not in STRUCTURE:
                staged.add_link(
                    pystac.Link(
                        link.rel,
                        link.get_absolute_href(),
                        media_type=link.media_type,
                        title=link.title,
                        extra_fields=link.extra_fields,
                    )
                )
        folder = os.path.join(root, safe_name(item.id))
        os.makedirs(folder, exist_ok=True)
        used = set()
        for key in sorted(staged.assets):
            asset = staged.assets[key]
            absolute = item.assets[key].get_absolute_href()
            base = os.path.basename(urllib.parse.urlparse(absolute).path) or key
            base = safe_name(base)
            if base in used or base == safe_name(item.id) + ".json":
                base = safe_name(key) + "-" + base
            used.add(base)
            target = os.path.join(folder, base)
            try:
                fetch(absolute, target)
            except Exception as err:
                fail(
                    "cannot fetch asset "
                    + key
                    + " of "
                    + item.id
                    + " from "
                    + absolute
                    + ": "
                    + str(err)
                )
            asset.href = target
        catalog.add_item(staged)
    catalog.normalize_hrefs(root)
    catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED, stac_io=io)
    with open("cwl.output.json", "w", encoding="utf-8") as out:
        json.dump({"staged": {"class": "Directory", "location": name}}, out)
    print("stage-in: " + href + " -> " + name + " (" + str(len(items)) + " items)", file=sys.stderr)


def stage_file(reference):
    """``--file``: the referenced file itself, downloaded as ./<its base name>."""
    href = reference
    parsed = urllib.parse.urlparse(reference)
    if parsed.scheme not in ("http", "https", "s3", "file"):
        href = os.path.abspath(reference)
        if not os.path.isfile(href):
            fail("no such file: " + href)
    name = safe_name(os.path.basename(urllib.parse.urlparse(href).path.rstrip("/")))
    try:
        fetch(href, name)
    except Exception as err:
        fail("cannot fetch " + href + ": " + str(err))
    with open("cwl.output.json", "w", encoding="utf-8") as out:
        json.dump({"staged": {"class": "File", "location": name}}, out)
    print("stage-in: " + href + " -> " + name, file=sys.stderr)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    as_file = arguments[:1] == ["--file"]
    if as_file:
        arguments = arguments[1:]
    if len(arguments) != 1:
        fail("usage: stage_in.py [--file] REFERENCE")
    if as_file:
        stage_file(parse_reference(arguments[0]))
    else:
        stage(parse_reference(arguments[0]))
