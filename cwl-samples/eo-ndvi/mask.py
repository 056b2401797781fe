"""mask: threshold an NDVI band into a vegetation mask.

Usage: python3 mask.py NDVI_F32 NDVI_JSON THRESHOLD

Writes into the working directory:
  <id>_mask.u8    one byte per pixel: 1 where NDVI > THRESHOLD, else 0
  <id>_mask.json  NDVI metadata + mask statistics (fraction above threshold)
Stdlib only; deterministic output.
NB: app-package.cwl embeds this file with an include, so it must contain no
dollar sign followed by a parenthesis or brace, and no double backslash.
"""

import json
import struct
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    band_path, meta_path, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(meta_path, encoding="utf-8") as f:
        meta = json.load(f)
    with open(band_path, "rb") as f:
        data = f.read()
    values = struct.unpack(f"<{len(data) // 4}f", data)
    mask = bytes(1 if v > threshold else 0 for v in values)
    item_id = meta["item_id"]
    mask_name = item_id + "_mask.u8"
    with open(mask_name, "wb") as f:
        f.write(mask)
    above = sum(mask)
    out = {
        "item_id": item_id,
        "ndvi_file": meta["ndvi_file"],
        "mask_file": mask_name,
        "threshold": threshold,
        "shape": meta["shape"],
        "stats": dict(
            meta["stats"],
            above_threshold=above,
            fraction_above_threshold=round(above / len(mask), 6),
        ),
        "source": meta["source"],
    }
    with open(item_id + "_mask.json", "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
