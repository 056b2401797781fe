cwlVersion: v1.2
class: CommandLineTool
doc: |
  Outputs that stay inside the tool's directory, or are its input: globs, a subdirectory,
  an absolute pattern under runtime.outdir, symbolic links to a file of the directory
  and to the input, and files of a staged input directory (whole.cwl collects the whole
  directory).
requirements:
  InitialWorkDirRequirement:
    listing: [$(inputs.given), $(inputs.folder)]
baseCommand: [sh, -c]
arguments:
  - >-
    echo a > a.txt; echo c > c.txt; mkdir sub; echo tif > sub/x.tif;
    ln -s a.txt link.txt; ln -s $(inputs.given.path) given-link.dat
inputs:
  given: File
  folder: Directory
outputs:
  texts: {type: 'File[]', outputBinding: {glob: '*.txt'}}
  tifs: {type: 'File[]', outputBinding: {glob: 'sub/*.tif'}}
  absolute: {type: File, outputBinding: {glob: $(runtime.outdir)/a.txt}}
  link: {type: File, outputBinding: {glob: link.txt}}
  to_input: {type: File, outputBinding: {glob: given-link.dat}}
  staged_input: {type: File, outputBinding: {glob: $(inputs.given.basename)}}
  in_folder: {type: 'File[]', outputBinding: {glob: $(inputs.folder.basename)/*.txt}}
