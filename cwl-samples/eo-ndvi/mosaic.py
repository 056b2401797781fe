"""mosaic: overall NDVI statistics over all items (the gather step).

Usage: python3 mosaic.py THRESHOLD NDVI_F32 [NDVI_F32 ...]

Writes ndvi_summary.json: mean/min/max over every pixel of every band, the
fraction of pixels above THRESHOLD, and a per-band breakdown.  Bands are
sorted by file name first, so the result does not depend on input order.
Stdlib only; deterministic output.
NB: app-package.cwl embeds this file with an include, so it must contain no
dollar sign followed by a parenthesis or brace, and no double backslash.
"""

import json
import math
import os
import struct
import sys


def r6(x):
    return round(float(x), 6)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    threshold = float(sys.argv[1])
    paths = sorted(sys.argv[2:], key=os.path.basename)
    per_item = []
    all_values = []
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        values = struct.unpack(f"<{len(data) // 4}f", data)
        above = sum(1 for v in values if v > threshold)
        name = os.path.basename(path)
        per_item.append(
            {
                "file": name,
                "item_id": name[: -len("_ndvi.f32")] if name.endswith("_ndvi.f32") else name,
                "count": len(values),
                "mean": r6(math.fsum(values) / len(values)),
                "min": r6(min(values)),
                "max": r6(max(values)),
                "fraction_above_threshold": r6(above / len(values)),
            }
        )
        all_values.extend(values)
    total_above = sum(1 for v in all_values if v > threshold)
    summary = {
        "threshold": threshold,
        "item_count": len(per_item),
        "pixel_count": len(all_values),
        "mean": r6(math.fsum(all_values) / len(all_values)),
        "min": r6(min(all_values)),
        "max": r6(max(all_values)),
        "fraction_above_threshold": r6(total_above / len(all_values)),
        "items": per_item,
    }
    with open("ndvi_summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
