cwlVersion: v1.2
class: CommandLineTool
doc: |
  Collects its whole output directory (glob: ., as cwltool allows), which holds symbolic
  links to one of its files and to its input.
requirements:
  InitialWorkDirRequirement:
    listing: [$(inputs.given)]
baseCommand: [sh, -c]
arguments:
  - >-
    mkdir sub; echo tif > sub/x.tif; ln -s sub/x.tif link.tif;
    ln -s $(inputs.given.basename) given-link.dat
inputs:
  given: File
outputs:
  whole: {type: Directory, outputBinding: {glob: .}}
