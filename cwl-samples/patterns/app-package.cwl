#!/usr/bin/env cwl-runner
# OGC EO Application Package shaped like eoap/application-package-patterns: one entry
# Workflow (#patterns, deliberately not "main": platforms wrap it in a generated #main)
# combining several of the data-flow patterns a stage-in/stage-out wrapper must handle.
#
#   patterns (Workflow)
#     scene_stats   stats over a Directory input                  -> Directory + float
#     series_stats  scatter of stats over a Directory[] input     -> Directory[] + float[]
#                   (the optional Directory input "mask" is passed to every stats call)
#     average       ExpressionTool: mean of the series means      -> float
#
# Pattern by pattern: Directory input (scene), Directory[] input (series), optional
# Directory input (mask), Directory output (scene_catalog), Directory[] output
# (series_catalogs), scalar outputs via loadContents + outputEval (scene_mean) and
# from an ExpressionTool (series_mean).
#
# Every Directory input is a STAC catalog directory (catalog.json at its top), every
# Directory output a self-contained STAC catalog, as OGC 20-089r1 asks. The one tool
# is stats.py, stdlib-only, staged with InitialWorkDirRequirement + $include.
cwlVersion: v1.2

$namespaces:
  s: https://schema.org/
s:softwareVersion: 1.0.0
s:name: Application package patterns (synthetic)

$graph:
  - class: Workflow
    id: patterns
    label: Statistics over STAC catalogs, pattern by pattern
    doc: |
      Statistics of the "values" assets of a scene catalog and of a series of catalogs,
      optionally masked by a mask catalog; every result is a STAC catalog, plus the
      scene mean (from the tool's stdout) and the mean over the series (ExpressionTool).
    requirements:
      ScatterFeatureRequirement: {}
      InlineJavascriptRequirement: {}
    inputs:
      scene:
        type: Directory
        label: Scene catalog
        doc: STAC catalog directory whose Items have a "values" asset.
      series:
        type: Directory[]
        label: Series of catalogs
        doc: STAC catalog directories, processed one by one (scatter).
      mask:
        type: Directory?
        label: Mask catalog
        doc: Optional STAC catalog whose Items have a "mask" asset (0/1 per value).
      threshold:
        type: float
        label: Threshold
        doc: Values above it are counted in each result's "above_threshold".
        default: 0.5
    outputs:
      scene_catalog:
        type: Directory
        label: Scene statistics
        doc: STAC catalog with the statistics of the scene.
        outputSource: scene_stats/result
      series_catalogs:
        type: Directory[]
        label: Series statistics
        doc: One STAC catalog per catalog of the series.
        outputSource: series_stats/result
      scene_mean:
        type: float
        label: Scene mean
        outputSource: scene_stats/mean
      series_mean:
        type: float
        label: Series mean
        outputSource: average/mean
    steps:
      scene_stats:
        run: "#stats"
        in:
          catalog: scene
          mask: mask
          threshold: threshold
        out: [result, mean]
      series_stats:
        run: "#stats"
        scatter: catalog
        scatterMethod: dotproduct
        in:
          catalog: series
          mask: mask
          threshold: threshold
        out: [result, mean]
      average:
        run: "#average"
        in:
          values: series_stats/mean
        out: [mean]

  - class: CommandLineTool
    id: stats
    label: Statistics of one catalog
    doc: Count, mean, min, max and fraction above a threshold of the "values" assets.
    hints:
      DockerRequirement:
        dockerPull: docker.io/library/python:3-slim
    requirements:
      InlineJavascriptRequirement: {}
      ResourceRequirement:
        coresMax: 1
        ramMax: 512
      InitialWorkDirRequirement:
        listing:
          - entryname: stats.py
            entry:
              $include: stats.py
    baseCommand: [python3, stats.py]
    arguments:
      - prefix: --out
        valueFrom: $(inputs.catalog.basename)-stats
    inputs:
      catalog:
        type: Directory
        inputBinding:
          prefix: --catalog
      mask:
        type: Directory?
        inputBinding:
          prefix: --mask
      threshold:
        type: float
        inputBinding:
          prefix: --threshold
    stdout: mean.txt
    outputs:
      result:
        type: Directory
        outputBinding:
          glob: $(inputs.catalog.basename)-stats
      mean:
        type: float
        outputBinding:
          glob: mean.txt
          loadContents: true
          outputEval: $(parseFloat(self[0].contents))

  - class: ExpressionTool
    id: average
    label: Mean of several means
    requirements:
      InlineJavascriptRequirement: {}
    inputs:
      values: float[]
    outputs:
      mean: float
    expression: |
      ${
        var total = 0;
        for (var i = 0; i < inputs.values.length; i++) { total += inputs.values[i]; }
        return {"mean": Math.round(total / inputs.values.length * 1e6) / 1e6};
      }
