"""stats: statistics of the "values" assets of a STAC catalog directory.

Usage: python3 stats.py --catalog DIR --out NAME --threshold T [--mask DIR]

Reads DIR/catalog.json (or collection.json), follows child and item links, and
reads each Item's "values" asset (one float per line). With --mask, the "mask"
asset of the mask catalog's Items (one 0/1 per line) selects the values kept.
Writes ./NAME/, a self-contained STAC catalog with one Item "NAME" whose asset
"stats" is NAME/NAME/stats.json (count, mean, min, max, fraction above T), and
prints the mean on stdout (the tool turns it into a float output).
Stdlib only; deterministic output.
NB: app-package.cwl embeds this file with an include, so it must contain no
dollar sign followed by a parenthesis or brace, and no double backslash.
"""

import argparse
import json
import os


def dump(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def root_of(directory):
    for name in ("catalog.json", "collection.json"):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise SystemExit("no catalog.json in " + directory)


def items(path, seen=None):
    seen = set() if seen is None else seen
    path = os.path.normpath(path)
    if path in seen:
        return []
    seen.add(path)
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc.get("type") == "Feature":
        return [(path, doc)]
    found = []
    for link in doc.get("links", []):
        if link.get("rel") in ("child", "item"):
            found += items(os.path.join(os.path.dirname(path), link["href"]), seen)
    return sorted(found, key=lambda pair: pair[1]["id"])


def asset_lines(directory, key):
    lines, bboxes, datetimes = [], [], []
    for path, item in items(root_of(directory)):
        if key not in item.get("assets", {}):
            continue
        href = os.path.join(os.path.dirname(path), item["assets"][key]["href"])
        with open(href, encoding="utf-8") as f:
            lines += [line.strip() for line in f if line.strip()]
        bboxes.append(item["bbox"])
        datetimes.append(item["properties"]["datetime"])
    if not lines:
        raise SystemExit("no '" + key + "' asset in the catalog " + directory)
    return lines, bboxes, datetimes


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--catalog", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--threshold", type=float, required=True)
    p.add_argument("--mask")
    a = p.parse_args()

    raw, bboxes, datetimes = asset_lines(a.catalog, "values")
    values = [float(v) for v in raw]
    if a.mask:
        keep, _, _ = asset_lines(a.mask, "mask")
        if len(keep) != len(values):
            raise SystemExit("mask and values differ in length")
        values = [v for v, k in zip(values, keep, strict=True) if k == "1"]
    stats = {
        "count": len(values),
        "masked": bool(a.mask),
        "mean": round(sum(values) / len(values), 6),
        "min": min(values),
        "max": max(values),
        "above_threshold": round(sum(v > a.threshold for v in values) / len(values), 6),
    }
    folder = os.path.join(a.out, a.out)
    os.makedirs(folder)
    dump(stats, os.path.join(folder, "stats.json"))
    w = min(b[0] for b in bboxes)
    s = min(b[1] for b in bboxes)
    e = max(b[2] for b in bboxes)
    n = max(b[3] for b in bboxes)
    dump(
        {
            "type": "Feature",
            "stac_version": "1.0.0",
            "id": a.out,
            "bbox": [w, s, e, n],
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]],
            },
            "properties": {"datetime": min(datetimes)},
            "links": [
                {"rel": "root", "href": "../catalog.json", "type": "application/json"},
                {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
            ],
            "assets": {
                "stats": {"href": "./stats.json", "type": "application/json", "roles": ["data"]}
            },
        },
        os.path.join(folder, a.out + ".json"),
    )
    dump(
        {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": a.out,
            "description": "Statistics of " + os.path.basename(os.path.normpath(a.catalog)),
            "links": [
                {"rel": "root", "href": "./catalog.json", "type": "application/json"},
                {
                    "rel": "item",
                    "href": "./" + a.out + "/" + a.out + ".json",
                    "type": "application/json",
                },
            ],
        },
        os.path.join(a.out, "catalog.json"),
    )
    print(stats["mean"])


if __name__ == "__main__":
    main()
