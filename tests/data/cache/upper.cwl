cwlVersion: v1.2
class: CommandLineTool
doc: The cache key tests' tool (tests/test_result_cache_key.py), edited by the tests.
requirements:
  ResourceRequirement: {coresMin: 1, ramMin: 64}
baseCommand: [tr, a-z, A-Z]
stdin: $(inputs.text.path)
stdout: upper.txt
inputs:
  text: File
  note: {type: string, default: ""}
outputs:
  upper: {type: File, outputBinding: {glob: upper.txt}}
