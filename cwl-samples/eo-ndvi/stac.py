"""stac: write a self-contained STAC 1.1.0 catalog of the NDVI results.

Usage: python3 stac.py --aoi-name NAME --threshold T --summary SUMMARY_JSON
                       --ndvi F32 [F32 ...] --mask U8 [U8 ...] --meta JSON [JSON ...]
                       [--collection ID]

--meta takes the per-item <id>_mask.json files; each names its NDVI band and
mask file, which are looked up by base name among --ndvi and --mask, so the
order of the lists does not matter.  Writes ./catalog/:
  catalog.json                  Catalog (links: root, one item link per Item)
  <id>/<id>.json                Item with assets ndvi, mask, stats
  ndvi-summary/ndvi-summary.json  Item with the summary JSON as asset
With --collection ID the Items are in a Collection, as EO platforms publish them:
  catalog.json                  Catalog (links: root, child ID/collection.json)
  ID/collection.json            Collection (extent of all Items; item links)
  ID/<id>/<id>.json ...         the Items, as above, with "collection": ID
All hrefs are relative, there are no self links (a "self-contained" catalog).
Stdlib only; deterministic output.
NB: app-package.cwl embeds this file with an include, so it must contain no
dollar sign followed by a parenthesis or brace, and no double backslash.
"""

import argparse
import json
import os
import shutil

OUT = "catalog"
STAC_VERSION = "1.1.0"


def dump(obj, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def by_name(paths):
    table = {}
    for p in paths:
        name = os.path.basename(p)
        if name in table:
            raise SystemExit("duplicate input file name: " + name)
        table[name] = p
    return table


def polygon(bbox):
    w, s, e, n = bbox
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def item_links(collection):
    """An Item's structural links (Items live one level below their parent)."""
    if not collection:
        return [
            {"rel": "root", "href": "../catalog.json", "type": "application/json"},
            {"rel": "parent", "href": "../catalog.json", "type": "application/json"},
        ]
    return [
        {"rel": "root", "href": "../../catalog.json", "type": "application/json"},
        {"rel": "parent", "href": "../collection.json", "type": "application/json"},
        {"rel": "collection", "href": "../collection.json", "type": "application/json"},
    ]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--aoi-name", required=True)
    p.add_argument("--threshold", type=float, required=True)
    p.add_argument("--summary", required=True)
    p.add_argument("--ndvi", nargs="+", required=True)
    p.add_argument("--mask", nargs="+", required=True)
    p.add_argument("--meta", nargs="+", required=True)
    p.add_argument("--collection", default="")
    a = p.parse_args()
    base = os.path.join(OUT, a.collection) if a.collection else OUT

    ndvi_files, mask_files = by_name(a.ndvi), by_name(a.mask)
    metas = []
    for path in a.meta:
        with open(path, encoding="utf-8") as f:
            metas.append(json.load(f))
    metas.sort(key=lambda m: m["item_id"])
    os.makedirs(base)

    item_list_links = []
    catalog_links = [
        {
            "rel": "root",
            "href": "./catalog.json",
            "type": "application/json",
            "title": "NDVI results",
        }
    ]
    bboxes, datetimes = [], []
    for m in metas:
        item_id = m["item_id"]
        src = m["source"]
        d = os.path.join(base, item_id)
        os.makedirs(d)
        shutil.copyfile(ndvi_files[m["ndvi_file"]], os.path.join(d, m["ndvi_file"]))
        shutil.copyfile(mask_files[m["mask_file"]], os.path.join(d, m["mask_file"]))
        stats_name = item_id + "_stats.json"
        dump(
            {k: m[k] for k in ("item_id", "threshold", "shape", "stats")},
            os.path.join(d, stats_name),
        )
        props = dict(src.get("properties") or {})
        props["datetime"] = src["datetime"]
        props["title"] = "NDVI of " + item_id
        props["ndvi_threshold"] = m["threshold"]
        props["ndvi_stats"] = m["stats"]
        bbox = src["bbox"]
        item = {
            "type": "Feature",
            "stac_version": STAC_VERSION,
            "stac_extensions": [],
            "id": item_id,
            "geometry": src.get("geometry") or polygon(bbox),
            "bbox": bbox,
            "properties": props,
            "links": item_links(a.collection),
            "assets": {
                "ndvi": {
                    "href": "./" + m["ndvi_file"],
                    "type": "application/octet-stream",
                    "roles": ["data"],
                    "title": "NDVI (nir - red) / (nir + red)",
                    "data_type": "float32",
                    "byte_order": "little-endian",
                    "shape": m["shape"],
                },
                "mask": {
                    "href": "./" + m["mask_file"],
                    "type": "application/octet-stream",
                    "roles": ["data"],
                    "title": f"NDVI > {m['threshold']:g} (1) else 0",
                    "data_type": "uint8",
                    "shape": m["shape"],
                },
                "stats": {
                    "href": "./" + stats_name,
                    "type": "application/json",
                    "roles": ["metadata"],
                    "title": "NDVI statistics",
                },
            },
        }
        if a.collection:
            item["collection"] = a.collection
        dump(item, os.path.join(d, item_id + ".json"))
        item_list_links.append(
            {
                "rel": "item",
                "href": f"./{item_id}/{item_id}.json",
                "type": "application/geo+json",
                "title": item_id,
            }
        )
        bboxes.append(bbox)
        datetimes.append(src["datetime"])

    # The gather result as one more Item covering all inputs.
    sid = "ndvi-summary"
    d = os.path.join(base, sid)
    os.makedirs(d)
    shutil.copyfile(a.summary, os.path.join(d, "ndvi_summary.json"))
    with open(a.summary, encoding="utf-8") as f:
        summary = json.load(f)
    union = [
        min(b[0] for b in bboxes),
        min(b[1] for b in bboxes),
        max(b[2] for b in bboxes),
        max(b[3] for b in bboxes),
    ]
    summary_item = {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": [],
        "id": sid,
        "geometry": polygon(union),
        "bbox": union,
        "properties": {
            "datetime": None,
            "start_datetime": min(datetimes),
            "end_datetime": max(datetimes),
            "title": "NDVI summary over " + a.aoi_name,
            "ndvi_threshold": a.threshold,
            "ndvi_stats": {
                k: summary[k]
                for k in ("mean", "min", "max", "pixel_count", "fraction_above_threshold")
            },
        },
        "links": item_links(a.collection),
        "assets": {
            "summary": {
                "href": "./ndvi_summary.json",
                "type": "application/json",
                "roles": ["metadata"],
                "title": "NDVI statistics over all items",
            },
        },
    }
    if a.collection:
        summary_item["collection"] = a.collection
    dump(summary_item, os.path.join(d, sid + ".json"))
    item_list_links.append(
        {"rel": "item", "href": f"./{sid}/{sid}.json", "type": "application/geo+json", "title": sid}
    )
    description = (
        f"NDVI of {len(metas)} STAC items over {a.aoi_name}; "
        f"vegetation mask threshold {a.threshold:g}."
    )
    if a.collection:
        write_collection(a, union, datetimes, item_list_links, description)
        catalog_links.append(
            {
                "rel": "child",
                "href": f"./{a.collection}/collection.json",
                "type": "application/json",
                "title": a.collection,
            }
        )
    else:
        catalog_links.extend(item_list_links)

    dump(
        {
            "type": "Catalog",
            "stac_version": STAC_VERSION,
            "stac_extensions": [],
            "id": "ndvi-results",
            "title": "NDVI results for " + a.aoi_name,
            "description": description,
            "links": catalog_links,
        },
        os.path.join(OUT, "catalog.json"),
    )


def write_collection(a, bbox, datetimes, item_links_, description):
    """ID/collection.json: the Items' Collection, its extent the union of theirs."""
    up = {"type": "application/json"}
    dump(
        {
            "type": "Collection",
            "stac_version": STAC_VERSION,
            "stac_extensions": [],
            "id": a.collection,
            "title": "NDVI over " + a.aoi_name,
            "description": description,
            "license": "other",
            "extent": {
                "spatial": {"bbox": [bbox]},
                "temporal": {"interval": [[min(datetimes), max(datetimes)]]},
            },
            "links": [
                {"rel": "root", "href": "../catalog.json", **up},
                {"rel": "parent", "href": "../catalog.json", **up},
                *item_links_,
            ],
        },
        os.path.join(OUT, a.collection, "collection.json"),
    )


if __name__ == "__main__":
    main()
