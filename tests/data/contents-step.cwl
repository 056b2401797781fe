cwlVersion: v1.2
class: Workflow
doc: |
  A tool writes a file; the next step's input reads it on the driver (loadContents with
  valueFrom) and its `when` reads it too. With --workdir s3://… the file is a store URL there.
requirements:
  StepInputExpressionRequirement: {}
  InlineJavascriptRequirement: {}
inputs: {}
outputs:
  out: {type: string, outputSource: read/text}
steps:
  write:
    run:
      class: CommandLineTool
      baseCommand: [echo, from-the-worker]
      stdout: word.txt
      inputs: []
      outputs: {word: stdout}
    in: {}
    out: [word]
  read:
    run:
      class: ExpressionTool
      inputs: {text: string}
      outputs: {text: string}
      expression: "$({'text': inputs.text})"
    in:
      text:
        source: write/word
        loadContents: true
        valueFrom: $(self.contents.trim())
    when: $(inputs.text == "from-the-worker")
    out: [text]
