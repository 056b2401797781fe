cwlVersion: v1.2
class: CommandLineTool
doc: |
  Writes a STAC catalog with absolute hrefs (self links everywhere, as pystac's
  ABSOLUTE_PUBLISHED does) into result/ of its working directory, and returns the whole
  working directory (glob: .): the catalog is one level down and its hrefs point into a
  work directory that no longer exists after the run.
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: make_catalog.py
        entry: |
          import json, os
          top = os.path.join(os.getcwd(), "result")
          os.makedirs(os.path.join(top, "item-a"))
          with open(os.path.join(top, "item-a", "data.txt"), "w") as f:
              f.write("a result\n")
          cat = os.path.join(top, "catalog.json")
          item = os.path.join(top, "item-a", "item-a.json")
          def link(rel, href):
              return {"rel": rel, "href": href, "type": "application/json"}
          doc = {"type": "Catalog", "stac_version": "1.0.0", "id": "absolute",
                 "description": "absolute hrefs",
                 "links": [link("self", cat), link("root", cat), link("item", item)]}
          feature = {"type": "Feature", "stac_version": "1.0.0", "stac_extensions": [],
                     "id": "item-a", "bbox": [1, 2, 3, 4],
                     "geometry": {"type": "Point", "coordinates": [1, 2]},
                     "properties": {"datetime": "2024-01-01T00:00:00Z"},
                     "links": [link("self", item), link("root", cat), link("parent", cat)],
                     "assets": {"data": {"href": os.path.join(top, "item-a", "data.txt")}}}
          for path, value in ((cat, doc), (item, feature)):
              with open(path, "w") as f:
                  json.dump(value, f, indent=1)
baseCommand: [python3, make_catalog.py]
inputs: []
outputs:
  workdir: {type: Directory, outputBinding: {glob: .}}
