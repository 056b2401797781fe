# Shows what a tool receives from ZOO inputs and the handler (tests/test_zoo.py).
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: echo-env
    inputs:
      words: string[]
      flag: boolean
      count: int?
      ratio: {type: float, default: 0.5}
      extra: {type: string, default: none}
    outputs:
      report: {type: File, outputSource: show/report}
    steps:
      show:
        run: "#show"
        in: {words: words, flag: flag, count: count, ratio: ratio, extra: extra}
        out: [report]
  - class: CommandLineTool
    id: show
    requirements:
      ShellCommandRequirement: {}
      ResourceRequirement: {coresMin: 3, ramMin: 1000}
    arguments:
      - {valueFrom: 'echo "FOO=$FOO"', shellQuote: false}
    inputs:
      words: {type: 'string[]', inputBinding: {prefix: --words, position: 1}}
      flag: {type: boolean, inputBinding: {prefix: --flag, position: 2}}
      count: {type: 'int?', inputBinding: {prefix: --count, position: 3}}
      ratio: {type: float, inputBinding: {prefix: --ratio, position: 4}}
      extra: {type: string, inputBinding: {prefix: --extra, position: 5}}
    stdout: report.txt
    outputs:
      report: stdout
