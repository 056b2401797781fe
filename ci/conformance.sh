#!/usr/bin/env bash
# Run the official CWL v1.2 conformance suite against cwl-dask and check the floor.
#
#   ci/conformance.sh [podman|nocontainer|auto]     (default: auto)
#
# auto = podman when it is installed and has the images the suite names (ci/setup-podman.sh
# builds stand-ins where no registry is reachable), else nocontainer, each with its floor.
# The suite: $CWL_V12_SUITE, ../shared/cwl-v1.2, the user cache, else the pinned commit
# (ci/conformance/SUITE_COMMIT) fetched when the network allows; without any, the run is
# skipped (exit 0, saying how to get it) unless CONFORMANCE_REQUIRED=1 (CI).
# Results (JUnit XML, badges, per-tag summary) go to $CONFORMANCE_OUT (default
# conformance-out/MODE). Exits non-zero when a test listed in
# ci/conformance/floor-MODE.txt did not pass.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-auto}
if [ "$MODE" = auto ]; then
  if ! command -v podman >/dev/null; then
    echo "conformance: no podman: running without containers (floor-nocontainer.txt)" >&2
    MODE=nocontainer
  elif ! podman image exists docker.io/library/python:3-slim 2>/dev/null; then
    echo "conformance: podman lacks the suite's images (sudo bash ci/setup-podman.sh builds" \
      "them): running without containers (floor-nocontainer.txt)" >&2
    MODE=nocontainer
  else
    MODE=podman
  fi
fi
case "$MODE" in
  podman) RUNNER_ARGS="run --podman --relax-path-checks" ;;
  nocontainer) RUNNER_ARGS="run --no-container --relax-path-checks" ;;
  # Store mode (--workdir s3://…): ci/conformance-s3.sh starts S3, a scheduler and an
  # isolated worker, and passes their options in CONFORMANCE_STORE_ARGS.
  s3) RUNNER_ARGS="run --podman --relax-path-checks ${CONFORMANCE_STORE_ARGS:?run ci/conformance-s3.sh}" ;;
  *) echo "usage: $0 [podman|nocontainer|auto|s3]" >&2; exit 2 ;;
esac
found=0
SUITE=$(python "$ROOT/ci/conformance_suite.py") || found=$?
case "$found" in
  0) ;;
  3) exit 0 ;;  # not here and not fetchable: skipped, the message says how to get it
  *) exit 2 ;;
esac

OUT=${CONFORMANCE_OUT:-$ROOT/conformance-out/$MODE}
rm -rf "$OUT" && mkdir -p "$OUT"
WORK=${CONFORMANCE_WORK:-$(mktemp -d)}
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
# The suite is read-only in CI and the pytest plugin only collects *.cwltest.yaml: work on a copy.
cp -r "$SUITE" "$WORK/suite" && chmod -R u+w "$WORK/suite"
cp "$WORK/suite/conformance_tests.yaml" "$WORK/suite/conformance_tests.cwltest.yaml"
# illegal_symlink run on the host leaves this behind, and it breaks a later container run.
rm -f /tmp/original.txt

# Tests that cannot pass here (see the file for each reason) are not run at all.
EXCLUDED=""
if [ -f "$ROOT/ci/conformance/excluded-$MODE.txt" ]; then
  EXCLUDED=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ROOT/ci/conformance/excluded-$MODE.txt" \
    | tr -d ' \t' | paste -sd, -)
fi

echo "conformance: mode=$MODE runner='cwl-dask $RUNNER_ARGS' excluded='$EXCLUDED' suite=$SUITE" >&2
# suite NAME PYTEST-ARGS...: run the suite with cwltest's plugin, output in $OUT/NAME.log and
# $OUT/NAME.xml; print its last lines and (CI keeps only what is printed) why each failed test
# failed — the runner's own stderr is in those sections — at most 80 lines apiece.
suite() {
  local name=$1 code=0
  shift
  ( cd "$WORK/suite" && python -m pytest conformance_tests.cwltest.yaml -p no:cacheprovider \
      -q --timeout=240 -o addopts="" --cwl-runner cwl-dask --cwl-args="$RUNNER_ARGS" \
      --junitxml="$OUT/$name.xml" "$@" ) > "$OUT/$name.log" 2>&1 || code=$?
  tail -n 3 "$OUT/$name.log" >&2
  if [ "$code" -ne 0 ]; then
    awk '/^=+ FAILURES =+$/ {on=1} /^=+ short test summary/ {on=0}
         on && /^_{3,} .* _{3,}$/ {n=0} on && n++ < 80' "$OUT/$name.log" >&2 || true
  fi
  return "$code"
}

start=$(date +%s)
status=0
# CONFORMANCE_PYTEST_ARGS: more cwltest options for a local run (--cwl-tags=docker); the
# floor then names tests that did not run.
# shellcheck disable=SC2086
suite pytest -n "${CONFORMANCE_JOBS:-2}" ${EXCLUDED:+--cwl-exclude="$EXCLUDED"} \
  --cwl-badgedir="$OUT/badges" ${CONFORMANCE_PYTEST_ARGS:-} || status=$?
[ -f "$OUT/pytest.xml" ] && mv "$OUT/pytest.xml" "$OUT/junit.xml"
echo "conformance: pytest exit $status after $(( $(date +%s) - start )) s" >&2

report() {
  python "$ROOT/ci/conformance_report.py" \
    --index "$WORK/suite/conformance_tests.yaml" --junit "$OUT/junit.xml" \
    --floor "$ROOT/ci/conformance/floor-$MODE.txt" --summary "$OUT/summary.md" "$@"
}
report --below-file "$OUT/below.txt" && exit 0
# A few tests below the floor are run once more, one at a time: one that passes then is
# reported as flaky (its first failure is printed above) and does not fail the build; many
# failures are a regression and are not retried.
below=$(paste -sd, - < "$OUT/below.txt")
count=$(grep -c . "$OUT/below.txt" || true)
if [ -z "$below" ] || [ "$count" -gt "${CONFORMANCE_RERUN_MAX:-3}" ]; then
  exit 1
fi
echo "conformance: running again, alone: $below" >&2
suite pytest-rerun -n 0 --cwl-include="$below" || true
report --rerun-junit "$OUT/pytest-rerun.xml"
