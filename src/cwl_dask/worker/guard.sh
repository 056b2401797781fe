# Run one tool command so that its whole process tree dies with it, its worker or its run.
#
#   sh guard.sh PARENT_PID TAG -- COMMAND...
#
# Put in front of every tool command by cwl_dask.tool_processes. cwltool starts a tool with a
# plain Popen and stops it (ToolTimeLimit) by signalling that one process: children of a
# shell script survive, and when a Dask worker is killed its tools keep running and writing
# while the task is retried elsewhere. A shell script, not Python: it starts once per tool
# invocation, and a Python interpreter's start-up (10-30 ms of CPU) was the largest cost of
# scatters of short tools (benchmarks/).
#
# - The tool runs in a session of its own (setsid), so its process group can be killed.
# - A watcher (a subshell: a fork, no exec) checks twice a second that PARENT_PID (the Dask
#   worker) lives; once it is gone it sends SIGTERM to this guard. (setpriv --pdeathsig was
#   measured: its exec costs more than this watcher, 3.9 against 3.1 ms of CPU per tool.)
# - On SIGTERM/SIGHUP the container (docker/podman run --cidfile=...) is killed and
#   removed, the tool's group gets SIGTERM, and SIGKILL after a grace period.
# - SIGINT is ignored. Ctrl-C in a terminal reaches the whole foreground process group, and a
#   guard started by a worker inside the driver process is in it: had the guard stopped its
#   tool then, the freed core could start a queued invocation before the driver cancelled
#   the run. The driver owns stopping (it cancels the queue first, then sends SIGTERM here);
#   a `dask worker` stopped by Ctrl-C is seen gone by the watcher.
# - When the tool's main process ends, whatever it left in its group is killed, and the guard
#   ends as the tool did: the same exit code, or death by the same signal (an exit status
#   above 128 is taken for a signal, as shells do).
# - An explicit ramMax limits the tool's data segment (ulimit -d, CWL_DASK_RAM_MAX_KIB).
# - The tool's environment is cwltool's: the PWD the shell exports is put back first. Like
#   every asynchronous command of a shell without job control, the tool starts with SIGINT
#   and SIGQUIT ignored; it is in a session of its own, so no terminal sends it those.
trap '' INT  # first: see above
parent=$1
[ "$3" = "--" ] && [ $# -ge 4 ] || { echo "usage: guard.sh PARENT_PID TAG -- COMMAND..." >&2; exit 2; }
shift 3
[ "$PPID" = "$parent" ] || exit 137  # the worker died before the tool started

# Put back what the shell's start-up changed in the environment cwltool gave the tool.
if [ "${CWL_DASK_GUARD_PWD-}" = "-" ]; then unset PWD; else PWD=${CWL_DASK_GUARD_PWD-$PWD}; export PWD; fi
unset CWL_DASK_GUARD_PWD
# An explicit ramMax (cwl_dask.worker.memory_limit): the tool's data segment, in KiB. The
# guard itself and its watcher need a few MiB at most.
if [ -n "${CWL_DASK_RAM_MAX_KIB-}" ]; then
  ulimit -d "$CWL_DASK_RAM_MAX_KIB" 2>/dev/null || echo "cwl-dask: cannot limit memory to ramMax" >&2
fi
unset CWL_DASK_RAM_MAX_KIB

if ! command -v "$1" >/dev/null 2>&1; then
  echo "cwl-dask: cannot run '$1': command not found" >&2
  exit 127
fi

engine= cidfile=
case ${1##*/} in
  docker|podman)
    engine=$1
    for arg in "$@"; do
      case $arg in --cidfile=*) cidfile=${arg#--cidfile=} ;; esac
    done ;;
esac

tool= stopping= killer=
stop() {
  [ -n "$stopping" ] && return
  stopping=1
  if [ -n "$cidfile" ] && [ -s "$cidfile" ]; then
    cid=$(cat "$cidfile")
    "$engine" kill "$cid" >/dev/null 2>&1
    "$engine" rm --force "$cid" >/dev/null 2>&1
  fi
  [ -n "$tool" ] || return
  kill -TERM -"$tool" 2>/dev/null
  setsid sh -c 'sleep "$1"; kill -KILL -"$2" 2>/dev/null' guard-grace "${CWL_DASK_GUARD_GRACE:-3}" "$tool" &
  killer=$!
}
trap 'interrupted=1; stop' TERM HUP

# An asynchronous list reads /dev/null unless its stdin is redirected: hand over the guard's.
exec 3<&0
setsid "$@" 0<&3 3<&- &
exec 3<&-
tool=$!
[ -n "$stopping" ] && { stopping=; stop; }
guard=$$
(while kill -0 "$parent" 2>/dev/null; do sleep 0.5; done; kill -TERM "$guard") \
  0</dev/null >/dev/null 2>&1 &
watcher=$!

while :; do  # a trapped signal ends `wait` early: wait again for the tool itself
  interrupted=
  wait "$tool"
  status=$?
  [ -n "$interrupted" ] || break
done
kill -KILL -"$tool" 2>/dev/null        # what the tool left running in its group
# The watcher by pid (a `sleep` it started ends by itself); the killer by pid as well as by
# group: one started just before the tool ended may not have made its group (setsid) yet.
kill -KILL "$watcher" 2>/dev/null
[ -n "$killer" ] && kill -KILL "$killer" -"$killer" 2>/dev/null
if [ "$status" -gt 128 ] && [ "$status" -le 192 ]; then  # died by a signal: die the same way
  trap - TERM INT HUP
  kill -s "$((status - 128))" $$ 2>/dev/null
fi
exit "$status"
