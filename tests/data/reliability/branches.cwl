cwlVersion: v1.2
class: Workflow
doc: |
  Two independent branches; `bad` fails with exit code `code` (its element `two`, after 3 s:
  by then `good` has finished, as a failure under --on-error stop kills what still runs),
  `good` writes good.txt.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  code: {type: int, default: 3}
  words: {type: 'string[]', default: [one, two, three]}
outputs:
  good: {type: File, outputSource: good/out}
  bad: {type: 'File[]', outputSource: bad/out}
steps:
  good:
    in: {}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'sleep 1; echo fine > good.txt']
      inputs: []
      outputs:
        out: {type: File, outputBinding: {glob: good.txt}}
  bad:
    in: {code: code, word: words}
    scatter: word
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c]
      arguments: ['echo "$1" > "$1.txt"; if [ "$1" = two ]; then sleep 3; echo "no luck with $1" >&2; exit $(inputs.code); fi', sh, $(inputs.word)]
      inputs:
        code: int
        word: string
      outputs:
        out: {type: File, outputBinding: {glob: $(inputs.word).txt}}
