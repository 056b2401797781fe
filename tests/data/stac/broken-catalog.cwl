cwlVersion: v1.2
class: CommandLineTool
doc: Writes a STAC catalog whose item names an asset file that was never written.
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: make_catalog.py
        entry: |
          import json, os
          os.makedirs("stac/item-a")
          catalog = {"type": "Catalog", "stac_version": "1.0.0", "id": "broken",
                     "description": "an asset is missing",
                     "links": [{"rel": "root", "href": "./catalog.json"},
                               {"rel": "item", "href": "./item-a/item-a.json"}]}
          item = {"type": "Feature", "stac_version": "1.0.0", "id": "item-a",
                  "bbox": [1, 2, 3, 4], "geometry": {"type": "Point", "coordinates": [1, 2]},
                  "properties": {"datetime": "2024-01-01T00:00:00Z"},
                  "links": [{"rel": "root", "href": "../catalog.json"},
                            {"rel": "parent", "href": "../catalog.json"}],
                  "assets": {"data": {"href": "./missing.tif"}}}
          json.dump(catalog, open("stac/catalog.json", "w"))
          json.dump(item, open("stac/item-a/item-a.json", "w"))
baseCommand: [python3, make_catalog.py]
inputs: []
outputs:
  results: {type: Directory, outputBinding: {glob: stac}}
