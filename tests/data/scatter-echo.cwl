cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  words: {type: 'string[]', default: [alpha, beta, gamma]}
outputs:
  files: {type: 'File[]', outputSource: shout/out}
steps:
  shout:
    in: {word: words}
    scatter: word
    out: [out]
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement: {coresMin: 1, ramMin: 100}
      baseCommand: echo
      inputs:
        word: {type: string, inputBinding: {position: 1}}
      stdout: $(inputs.word).txt
      outputs:
        out: {type: stdout}
