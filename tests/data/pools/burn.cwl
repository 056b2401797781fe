#!/usr/bin/env cwl-runner
# Four busy processes for `seconds` of wall time, then the CPU seconds they used (os.times).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  InlineJavascriptRequirement: {}
  ResourceRequirement: {coresMin: 1, coresMax: $(inputs.cores_max)}
baseCommand: [python3, -c]
arguments:
  - |
    import os, sys, time
    end = time.time() + float(sys.argv[1])
    pids = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            while time.time() < end:
                pass
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    t = os.times()
    print(round((t.children_user + t.children_system) / float(sys.argv[1]), 3))
  - $(inputs.seconds)
inputs:
  seconds: {type: float, default: 3}
  cores_max: {type: ["null", float]}
outputs:
  cores_used:
    type: float
    outputBinding:
      glob: used.txt
      loadContents: true
      outputEval: $(parseFloat(self[0].contents))
stdout: used.txt
