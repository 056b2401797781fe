# Many small invocations, then one big one: workers sized for the big tool fit several
# small invocations each.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  items: int[]
outputs: []
steps:
  small:
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement: {coresMin: 1, ramMin: 256}
      baseCommand: "true"
      inputs:
        n: int
      outputs:
        out: stdout
    scatter: n
    in: {n: items}
    out: [out]
  big:
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement: {coresMin: 4, ramMin: 1024}
      baseCommand: "true"
      inputs:
        parts: File[]
      outputs: []
    in: {parts: small/out}
    out: []
