# A tool that writes its output, then exits 3: only its exit code says it failed
# (tests/test_zoo_kernel_conditions.py; with SIGCHLD ignored it read as 0).
cwlVersion: v1.2
$graph:
  - class: Workflow
    id: fails-after-output
    inputs: {}
    outputs:
      out: {type: File, outputSource: write/out}
    steps:
      write:
        run: "#write"
        in: {}
        out: [out]
  - class: CommandLineTool
    id: write
    baseCommand: [sh, -c, 'echo written; echo "disk on fire" >&2; exit 3']
    inputs: {}
    outputs:
      out: stdout
