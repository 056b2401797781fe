cwlVersion: v1.2
class: CommandLineTool
doc: Writes small files and one big one, to fill a small output filesystem part way.
baseCommand: [sh, -c]
arguments: ['echo a > a.txt; echo b > b.txt; head -c $(inputs.size) /dev/zero > big.bin']
inputs:
  size: {type: int, default: 2000000}
outputs:
  a: {type: File, outputBinding: {glob: a.txt}}
  big: {type: File, outputBinding: {glob: big.bin}}
  b: {type: File, outputBinding: {glob: b.txt}}
