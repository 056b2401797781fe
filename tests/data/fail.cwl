cwlVersion: v1.2
class: Workflow
inputs:
  code: {type: int, default: 3}
outputs:
  out: {type: File, outputSource: explode/out}
steps:
  explode:
    in: {code: code}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c]
      arguments: ['echo "about to fail" >&2; echo "disk on fire" >&2; exit $(inputs.code)']
      inputs:
        code: int
      outputs:
        out: {type: stdout}
