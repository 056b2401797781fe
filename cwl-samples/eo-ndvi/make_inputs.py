#!/usr/bin/env python3
"""Write the synthetic inputs of the eo-ndvi sample into data/ (stdlib only).

Deterministic: every value comes from random.Random(seed), so running this
script again rewrites byte-identical files.

For each item <id> it writes, side by side:
  <id>.json      a STAC 1.0.0 Item with assets "red" and "nir"
  <id>.red.f32   red band, raw little-endian float32, row-major, ROWS x COLS
  <id>.nir.f32   near-infrared band, same layout

The band file names follow the item file name (<stem>.red.f32, <stem>.nir.f32)
because app-package.cwl stages them as secondaryFiles with the patterns
"^.red.f32" and "^.nir.f32".

Usage: python3 make_inputs.py [--out DIR] [--items N] [--size N] [--seed N]
"""

import argparse
import json
import math
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def band_bytes(values):
    return struct.pack(f"<{len(values)}f", *values)


def make_item(index, rows, cols, seed):
    rng = random.Random(seed * 1000 + index)
    item_id = f"S2-synth-{index + 1:03d}"
    # A vegetated disc somewhere in the tile, bare soil / water elsewhere.
    cy = rng.uniform(0.3, 0.7) * rows
    cx = rng.uniform(0.3, 0.7) * cols
    radius = rng.uniform(0.2, 0.35) * min(rows, cols)
    red, nir = [], []
    for r in range(rows):
        for c in range(cols):
            d = math.hypot(r - cy, c - cx) / radius
            veg = max(0.0, 1.0 - d)  # 1 at the centre, 0 outside the disc
            water = 1.0 if (r + c) < (rows + cols) // 8 else 0.0  # a corner
            red_v = 0.12 - 0.08 * veg + 0.02 * rng.random() - 0.06 * water
            nir_v = 0.18 + 0.40 * veg + 0.03 * rng.random() - 0.16 * water
            red.append(round(max(red_v, 0.001), 4))
            nir.append(round(max(nir_v, 0.001), 4))
    # Tiles side by side along longitude, 0.1 degree wide.
    west = 10.0 + 0.1 * index
    south = 45.0
    east, north = west + 0.1, south + 0.1
    bbox = [round(west, 6), south, round(east, 6), north]
    geometry = {
        "type": "Polygon",
        "coordinates": [
            [
                [bbox[0], bbox[1]],
                [bbox[2], bbox[1]],
                [bbox[2], bbox[3]],
                [bbox[0], bbox[3]],
                [bbox[0], bbox[1]],
            ]
        ],
    }
    band_meta = {
        "type": "application/octet-stream",
        "roles": ["data"],
        "data_type": "float32",
        "byte_order": "little-endian",
        "shape": [rows, cols],
    }
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": item_id,
        "geometry": geometry,
        "bbox": bbox,
        "properties": {
            "datetime": f"2024-06-{index + 1:02d}T10:30:00Z",
            "platform": "synthetic",
            "constellation": "synthetic",
            "gsd": 10,
        },
        "links": [],
        "assets": {
            "red": dict(band_meta, href=f"./{item_id}.red.f32", title="Red band"),
            "nir": dict(band_meta, href=f"./{item_id}.nir.f32", title="Near-infrared band"),
        },
    }
    return item_id, item, band_bytes(red), band_bytes(nir)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join(HERE, "data"))
    p.add_argument("--items", type=int, default=4)
    p.add_argument("--size", type=int, default=32, help="rows = cols of each band")
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.items):
        item_id, item, red, nir = make_item(i, a.size, a.size, a.seed)
        with open(os.path.join(a.out, item_id + ".json"), "w", encoding="utf-8") as f:
            json.dump(item, f, indent=2, sort_keys=True)
            f.write("\n")
        for name, data in (("red", red), ("nir", nir)):
            with open(os.path.join(a.out, f"{item_id}.{name}.f32"), "wb") as f:
                f.write(data)
        print("wrote", item_id)


if __name__ == "__main__":
    main()
