"""Write the synthetic STAC inputs of the patterns sample (deterministic).

Usage: python3 make_inputs.py [--out data] [--size 64] [--seed 7]

Each input is a small self-contained STAC 1.0.0 catalog directory:
  <name>/catalog.json
  <name>/<name>-item/<name>-item.json   Item (bbox, geometry, datetime)
  <name>/<name>-item/values.txt         asset "values": one float per line
and, for the mask catalog, asset "mask": one 0/1 per line instead.
Catalogs: scene-a (the Directory input), series-1..3 (the Directory[] input),
mask-a (the optional Directory input).
"""

import argparse
import json
import os
import random

STAC_VERSION = "1.0.0"


def dump(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def write_catalog(out, name, asset_key, lines, lon, lat, day):
    item_id = name + "-item"
    folder = os.path.join(out, name, item_id)
    os.makedirs(folder, exist_ok=True)
    filename = asset_key + ".txt"
    with open(os.path.join(folder, filename), "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    bbox = [lon, lat, lon + 0.1, lat + 0.1]
    w, s, e, n = bbox
    item = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "id": item_id,
        "bbox": bbox,
        "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        "properties": {"datetime": f"2024-06-{day:02d}T10:00:00Z"},
        "links": [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
        ],
        "assets": {asset_key: {"href": "./" + filename, "type": "text/plain", "roles": ["data"]}},
    }
    dump(item, os.path.join(folder, item_id + ".json"))
    catalog = {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": name,
        "description": "Synthetic input " + name + " of the patterns sample",
        "links": [
            {"rel": "root", "href": "./catalog.json", "type": "application/json"},
            {
                "rel": "item",
                "href": "./" + item_id + "/" + item_id + ".json",
                "type": "application/json",
            },
        ],
    }
    dump(catalog, os.path.join(out, name, "catalog.json"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument(
        "--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
    )
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    rng = random.Random(a.seed)
    names = ["scene-a", "series-1", "series-2", "series-3"]
    for i, name in enumerate(names):
        values = [f"{rng.random():.4f}" for _ in range(a.size)]
        write_catalog(a.out, name, "values", values, 10.0 + i, 45.0, i + 1)
    mask = [str(int(rng.random() < 0.75)) for _ in range(a.size)]
    write_catalog(a.out, "mask-a", "mask", mask, 10.0, 45.0, 1)


if __name__ == "__main__":
    main()
