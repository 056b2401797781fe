# Resource requests computed from the inputs (parameter references: no JavaScript needed).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement:
    coresMin: $(inputs.threads)
    ramMin: $(inputs.f.size)
baseCommand: "true"
inputs:
  threads: int
  f: File
outputs: []
