# An ExpressionTool runs as a Dask task too, so its request sizes the worker.
cwlVersion: v1.2
class: ExpressionTool
requirements:
  InlineJavascriptRequirement: {}
  ResourceRequirement:
    coresMin: 2
    ramMin: 1500
inputs: []
outputs:
  n: int
expression: "${ return {n: 1}; }"
