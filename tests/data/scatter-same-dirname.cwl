#!/usr/bin/env cwl-runner
# Every scatter job returns a Directory named "result" holding its own STAC catalog
# (catalog.json -> item-<n>/item-<n>.json -> data.txt, relative hrefs), gathered into
# Directory[]. cwltool merges the three into OUTDIR/result and fails with
# "No such file or directory: .../catalog.json_2"; cwl-dask keeps them apart.
cwlVersion: v1.2
$graph:
  - class: CommandLineTool
    id: make-catalog
    baseCommand: [python3, -c]
    arguments:
      - |
        import json, os, sys
        n = sys.argv[1]
        item_dir = os.path.join("result", f"item-{n}")
        os.makedirs(item_dir)
        with open(os.path.join(item_dir, "data.txt"), "w") as handle:
            handle.write(n + "\n")
        item = {
            "type": "Feature", "stac_version": "1.0.0", "stac_extensions": [], "id": f"item-{n}",
            "geometry": {"type": "Point", "coordinates": [0.0, 0.0]}, "bbox": [0.0, 0.0, 0.0, 0.0],
            "properties": {"datetime": "2020-01-01T00:00:00Z"},
            "links": [{"rel": "root", "href": "../catalog.json"},
                      {"rel": "parent", "href": "../catalog.json"}],
            "assets": {"data": {"href": "data.txt"}},
        }
        with open(os.path.join(item_dir, f"item-{n}.json"), "w") as handle:
            json.dump(item, handle)
        catalog = {
            "type": "Catalog", "stac_version": "1.0.0", "id": f"catalog-{n}", "description": n,
            "links": [{"rel": "root", "href": "./catalog.json"},
                      {"rel": "item", "href": f"./item-{n}/item-{n}.json"}],
        }
        with open(os.path.join("result", "catalog.json"), "w") as handle:
            json.dump(catalog, handle)
    inputs:
      n: {type: string, inputBinding: {position: 1}}
    outputs:
      result: {type: Directory, outputBinding: {glob: result}}

  - class: Workflow
    id: main
    requirements:
      ScatterFeatureRequirement: {}
    inputs:
      names: string[]
    outputs:
      results: {type: "Directory[]", outputSource: make/result}
    steps:
      make:
        run: "#make-catalog"
        scatter: n
        in: {n: names}
        out: [result]
