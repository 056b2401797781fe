cwlVersion: v1.2
class: CommandLineTool
doc: Writes a 2 MB file, to fill a small output filesystem.
baseCommand: [sh, -c, 'head -c 2000000 /dev/zero > big.bin']
inputs: []
outputs:
  big: {type: File, outputBinding: {glob: big.bin}}
