cwlVersion: v1.2
class: CommandLineTool
doc: |
  Runs a shell script in its output directory and collects what the glob pattern names:
  the security tests give it patterns and links that reach outside that directory.
baseCommand: [sh, -c]
arguments: [$(inputs.script)]
inputs:
  script: string
  pattern: string
  given: {type: File?, inputBinding: {position: 1}}
outputs:
  found:
    type: {type: array, items: [File, Directory]}
    outputBinding: {glob: $(inputs.pattern)}
