cwlVersion: v1.2
class: Workflow
doc: |
  The cache tests' workflow: `work` squares each of `numbers` (a scatter), `total` sums the
  squares. Every invocation first appends a line to `marker` (a path outside the work
  directories: "work N", "total"), so a test counts the invocations that really ran;
  `work` then sleeps `secs` seconds, so a test can stop a run mid-scatter.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  marker: string
  numbers: int[]
  secs: {type: int, default: 0}
outputs:
  sum: {type: File, outputSource: total/out}
  squares: {type: 'File[]', outputSource: work/out}
steps:
  work:
    in: {marker: marker, n: numbers, secs: secs}
    scatter: n
    out: [out]
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement: {coresMin: 1, ramMin: 10}
      baseCommand: [sh, -c, 'echo "work $1" >> "$0"; sleep "$2"; expr "$1" "*" "$1" > square.txt']
      arguments: [$(inputs.marker), $(inputs.n), $(inputs.secs)]
      inputs: {marker: string, n: int, secs: int}
      outputs: {out: {type: File, outputBinding: {glob: square.txt}}}
  total:
    in: {marker: marker, squares: work/out}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'echo total >> "$0"; cat "$@" | awk "{s += \$1} END {print s}" > total.txt']
      arguments:
        - $(inputs.marker)
      inputs:
        marker: string
        squares: {type: 'File[]', inputBinding: {position: 1}}
      outputs: {out: {type: File, outputBinding: {glob: total.txt}}}
