cwlVersion: v1.2
class: Workflow
doc: |
  A scatter of 16 short jobs on 1 core: job 1 runs alone (it tells how long a job takes),
  the other 15 are batched 3 per task (2-4, 5-7, ...). Each records "i pid dir" in the
  marker; job `sleeper` (or every odd one: "odd") then sleeps until the flag file exists.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  marker: string
  flag: string
  sleeper: {type: string, default: '3'}
  numbers: {type: 'int[]', default: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]}
outputs:
  outs: {type: 'File[]', outputSource: mark/out}
steps:
  mark:
    in: {i: numbers, marker: marker, flag: flag, sleeper: sleeper}
    scatter: i
    out: [out]
    run:
      class: CommandLineTool
      requirements:
        ResourceRequirement: {coresMin: 1, ramMin: 100}
      baseCommand: [sh, -c]
      arguments:
        - |
          echo "$0 $$ $PWD" >> "$1"; echo "$0" > out.txt
          case "$3:$0" in "$0:$0" | odd:*[13579])
            while [ ! -e "$2" ]; do sleep 0.1; done ;;
          esac
        - $(inputs.i)
        - $(inputs.marker)
        - $(inputs.flag)
        - $(inputs.sleeper)
      inputs:
        i: int
        marker: string
        flag: string
        sleeper: string
      outputs:
        out: {type: File, outputBinding: {glob: out.txt}}
