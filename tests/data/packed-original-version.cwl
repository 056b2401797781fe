#!/usr/bin/env cwl-runner
# A package as a packer that loads with cwltool and saves again writes it: upgraded to v1.2,
# with cwltool's note of the version it came from at the top. cwltool refuses it
# ("original_cwlVersion is set (v1.0) but cwlVersion is 'v1.2'"); cwl-dask runs it as v1.2.
cwlVersion: v1.2
http://commonwl.org/cwltool#original_cwlVersion: v1.0
$namespaces:
  s: https://schema.org/
$graph:
  - class: CommandLineTool
    id: shout
    http://commonwl.org/cwltool#original_cwlVersion: v1.0
    baseCommand: echo
    inputs:
      word: {type: string, inputBinding: {position: 1}}
    stdout: shout.txt
    outputs:
      shouted: {type: stdout}
  - class: Workflow
    id: main
    inputs:
      word: string
    outputs:
      shouted: {type: File, outputSource: shout/shouted}
    steps:
      shout:
        run: "#shout"
        in: {word: word}
        out: [shouted]
