#!/usr/bin/env cwl-runner
cwlVersion: v1.2
class: CommandLineTool
id: hello
label: Hello world
doc: Writes a message into hello.txt (via stdout).

hints:
  DockerRequirement:
    dockerPull: docker.io/library/python:3-slim
requirements:
  ResourceRequirement:
    coresMin: 1
    ramMin: 128

baseCommand: echo
inputs:
  message:
    type: string
    default: "Hello, world"
    inputBinding:
      position: 1
stdout: hello.txt
outputs:
  hello:
    type: File
    outputBinding:
      glob: hello.txt
