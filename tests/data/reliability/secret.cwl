cwlVersion: v1.2
class: Workflow
doc: |
  `login` uses the secret on its command line and in a generated file and succeeds;
  `refuse` gets it too and fails, so a work directory, logs and a failure message exist.
$namespaces: {cwltool: "http://commonwl.org/cwltool#"}
hints:
  cwltool:Secrets: {secrets: [password]}
requirements:
  InlineJavascriptRequirement: {}
inputs:
  user: string
  password: string
outputs:
  session: {type: File, outputSource: login/out}
  refused: {type: File, outputSource: refuse/out}
steps:
  login:
    in: {user: user, password: password}
    out: [out]
    run:
      class: CommandLineTool
      hints:
        cwltool:Secrets: {secrets: [password]}
      requirements:
        InitialWorkDirRequirement:
          listing: [{entryname: creds.txt, entry: $(inputs.password)}]
      baseCommand: [sh, -c, 'test "$0" = "$(cat creds.txt)" && echo "session for $1" > session.txt; echo "checked the password of $1" >&2']
      arguments: [$(inputs.password), $(inputs.user)]
      inputs: {user: string, password: string}
      outputs: {out: {type: File, outputBinding: {glob: session.txt}}}
  refuse:
    in: {password: password}
    out: [out]
    run:
      class: CommandLineTool
      hints:
        cwltool:Secrets: {secrets: [password]}
      baseCommand: [sh, -c, 'echo "password refused" >&2; exit 5']
      arguments: [$(inputs.password)]
      inputs: {password: string}
      outputs: {out: {type: File, outputBinding: {glob: nothing.txt}}}
