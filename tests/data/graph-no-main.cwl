cwlVersion: v1.2
$graph:
- class: CommandLineTool
  id: shout
  baseCommand: echo
  inputs:
    word: {type: string, inputBinding: {position: 1}}
  stdout: shout.txt
  outputs:
    out: {type: stdout}
- class: Workflow
  id: water-bodies
  inputs:
    word: {type: string, default: from-the-workflow}
  outputs:
    out: {type: File, outputSource: say/out}
  steps:
    say:
      run: '#shout'
      in: {word: word}
      out: [out]
