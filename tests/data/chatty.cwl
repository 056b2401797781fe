cwlVersion: v1.2
class: CommandLineTool
doc: Writes to stdout and stderr without redirecting them; none of it may reach our stdout.
baseCommand: [sh, -c]
arguments: ['echo "tool says hi on stdout"; echo "tool says hi on stderr" >&2; echo result > result.txt']
inputs: []
outputs:
  result: {type: File, outputBinding: {glob: result.txt}}
