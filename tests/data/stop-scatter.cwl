cwlVersion: v1.2
class: Workflow
doc: |
  A scatter of `sleep`, one core each, for the stop tests. Each invocation first creates a
  file named after its pid in `started` (so a test counts the tools that started), then
  sleeps `secs` seconds as `sleep SECS TAG`: a test finds its leftover tools by the unique
  TAG (a tiny duration, e.g. 0.000123). A negative `secs` fails after -secs seconds.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  started: string
  tag: string
  secs: int[]
outputs:
  outs: {type: 'File[]', outputSource: work/out}
steps:
  work:
    in: {secs: secs, started: started, tag: tag}
    scatter: secs
    out: [out]
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement: {coresMin: 1, ramMin: 10}
      baseCommand: [sh, -c]
      arguments:
        - |
          : > "$1/$$"
          if [ "$0" -lt 0 ]; then sleep `expr 0 - "$0"` "$2"; exit 3; fi
          sleep "$0" "$2"; echo "$0" > out.txt
        - $(inputs.secs)
        - $(inputs.started)
        - $(inputs.tag)
      inputs:
        secs: int
        started: string
        tag: string
      outputs:
        out: {type: File, outputBinding: {glob: out.txt}}
