cwlVersion: v1.2
class: CommandLineTool
doc: Sleeps in a container past its ToolTimeLimit (PID 1 in a container ignores SIGTERM).
requirements:
  DockerRequirement: {dockerPull: "docker.io/library/debian:stable-slim"}
  ToolTimeLimit: {timelimit: 1}
baseCommand: sleep
inputs:
  seconds: {type: int, inputBinding: {position: 1}}
outputs: []
