# What a tool's environment holds, and a print to the terminal's stdout from the run
# (tests/test_zoo_kernel_conditions.py).
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: environment
    inputs: {}
    outputs:
      env: {type: File, outputSource: show/env}
    steps:
      show:
        run: "#show"
        in: {}
        out: [env]
  - class: CommandLineTool
    id: show
    baseCommand: [sh, -c, 'env > env.txt; echo "to the tool stdout"']
    inputs: {}
    outputs:
      env: {type: File, outputBinding: {glob: env.txt}}
