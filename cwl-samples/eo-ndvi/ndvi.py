"""ndvi: normalized difference (nir - red) / (nir + red) for one STAC Item.

Usage: python3 ndvi.py ITEM_JSON
       python3 ndvi.py CATALOG_DIR   (a staged STAC catalog holding one Item)

Reads the item's "red" and "nir" assets (raw little-endian float32, hrefs
relative to the item file), writes into the working directory:
  <id>_ndvi.f32   NDVI band, raw little-endian float32, same shape
  <id>_ndvi.json  item metadata + NDVI statistics
Pixels where nir + red == 0 get NDVI 0.0.  Stdlib only; deterministic output.
NB: app-package.cwl embeds this file with an include, so it must contain no
dollar sign followed by a parenthesis or brace, and no double backslash.
"""

import json
import math
import os
import re
import struct
import sys


def read_band(path, shape):
    with open(path, "rb") as f:
        data = f.read()
    n = len(data) // 4
    if shape and shape[0] * shape[1] != n:
        sys.exit(f"{path}: {n} values, expected shape {shape}")
    return list(struct.unpack(f"<{n}f", data))


def resolve(item_path, href):
    if "://" in href and not href.startswith("file://"):
        sys.exit("only local asset hrefs are supported, got " + href)
    if href.startswith("file://"):
        href = href[len("file://") :]
    return os.path.normpath(os.path.join(os.path.dirname(item_path), href))


def item_in_catalog(directory):
    """The one Item of a staged catalog (catalog.json or collection.json at its top)."""
    roots = [os.path.join(directory, n) for n in ("catalog.json", "collection.json")]
    roots = [r for r in roots if os.path.isfile(r)]
    if not roots:
        sys.exit(f"{directory}: no catalog.json or collection.json")
    items, pending = [], roots[:1]
    while pending:
        path = pending.pop()
        with open(path, encoding="utf-8") as f:
            links = json.load(f).get("links", [])
        for link in links:
            if link.get("rel") == "item":
                items.append(resolve(path, link["href"]))
            elif link.get("rel") == "child":
                pending.append(resolve(path, link["href"]))
    if len(items) != 1:
        sys.exit(f"{directory}: expected one STAC Item, found {len(items)}")
    return items[0]


def r6(x):
    return round(float(x), 6)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    item_path = sys.argv[1]
    if os.path.isdir(item_path):
        item_path = item_in_catalog(item_path)
    with open(item_path, encoding="utf-8") as f:
        item = json.load(f)
    item_id = item["id"]
    if not re.match(r"^[A-Za-z0-9._-]+\Z", item_id):
        sys.exit(f"item id not usable as a file name: {item_id!r}")
    assets = item["assets"]
    shape = assets["red"].get("shape")
    red = read_band(resolve(item_path, assets["red"]["href"]), shape)
    nir = read_band(resolve(item_path, assets["nir"]["href"]), shape)
    if len(red) != len(nir):
        sys.exit("red and nir bands differ in size")
    if not shape:
        side = math.isqrt(len(red))
        shape = [side, len(red) // side]
    ndvi = []
    for r, n in zip(red, nir, strict=True):
        s = n + r
        ndvi.append((n - r) / s if s != 0 else 0.0)
    packed = struct.pack(f"<{len(ndvi)}f", *ndvi)
    # Statistics on the float32 values actually written.
    values = struct.unpack(f"<{len(ndvi)}f", packed)
    band_name = item_id + "_ndvi.f32"
    with open(band_name, "wb") as f:
        f.write(packed)
    meta = {
        "item_id": item_id,
        "ndvi_file": band_name,
        "shape": list(shape),
        "data_type": "float32",
        "byte_order": "little-endian",
        "stats": {
            "count": len(values),
            "mean": r6(math.fsum(values) / len(values)),
            "min": r6(min(values)),
            "max": r6(max(values)),
        },
        "source": {
            "id": item_id,
            "bbox": item.get("bbox"),
            "geometry": item.get("geometry"),
            "datetime": item.get("properties", {}).get("datetime"),
            "properties": item.get("properties", {}),
        },
    }
    with open(item_id + "_ndvi.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
