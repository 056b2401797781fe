"""Per-tag summary of a conformance run, and the floor check.

Reads the suite's index (with its ``$import``-ed sub-indexes) for the tags, the JUnit XML of
cwltest's pytest plugin for the outcome of each test, and the floor file: the ids of the tests
that must pass. Exits 1 if one of them did not, and lists tests that pass beyond the floor so
the floor can be raised.

``--rerun-junit`` gives the outcomes of a second, serial run of the tests that fell below the
floor: a test that failed once and passed alone counts as passed but is named as flaky on
every report, so an intermittent failure is seen (and its first failure's log kept) without
blocking the build; one that fails again still fails it.
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from ruamel.yaml import YAML

TAG_ORDER = [
    "required",
    "command_line_tool",
    "expression_tool",
    "workflow",
    "scatter",
    "subworkflow",
    "conditional",
    "inline_javascript",
    "initial_work_dir",
    "secondary_files",
    "shell_command",
    "docker",
    "networkaccess",
    "step_input",
    "multiple_input",
    "schema_def",
    "resource",
    "env_var",
    "format_checking",
    "inplace_update",
    "input_object_requirements",
    "inputs_should_parse",
    "json_schema_invalid",
    "load_listing",
    "multiple",
    "timelimit",
    "work_reuse",
]


def load_index(path: Path) -> dict[str, list[str]]:
    """Test id -> tags, following ``$import`` entries relative to each index file."""
    tags: dict[str, list[str]] = {}
    for entry in YAML(typ="safe").load(path.read_text()):
        if "$import" in entry:
            tags.update(load_index(path.parent / entry["$import"]))
        else:
            tags[entry["id"]] = list(entry.get("tags", []))
    return tags


def load_outcomes(junit: Path) -> dict[str, str]:
    """Test id -> passed | failed | unsupported, from the plugin's JUnit XML."""
    outcomes: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[name] = "failed"
        elif case.find("skipped") is not None:
            outcomes[name] = "unsupported"
        else:
            outcomes[name] = "passed"
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--junit", type=Path, required=True)
    parser.add_argument("--floor", type=Path, required=True)
    parser.add_argument("--summary", type=Path)
    parser.add_argument("--rerun-junit", type=Path, help="outcomes of a second run")
    parser.add_argument("--below-file", type=Path, help="write the ids below the floor here")
    parser.add_argument(
        "--write-floor", action="store_true", help="rewrite the floor with every test that passed"
    )
    args = parser.parse_args()

    tags = load_index(args.index)
    outcomes = load_outcomes(args.junit)
    missing = sorted(set(tags) - set(outcomes))
    for test in missing:
        outcomes[test] = "failed"
    flaky: list[str] = []
    if args.rerun_junit and args.rerun_junit.exists():
        for test, outcome in load_outcomes(args.rerun_junit).items():
            if outcome == "passed" and outcomes.get(test) == "failed":
                outcomes[test] = "passed"
                flaky.append(test)

    rows = ["| tag | total | passed | failed | unsupported |", "|---|---|---|---|---|"]
    groups = {"all": list(tags)}
    for tag in TAG_ORDER + sorted({t for ts in tags.values() for t in ts} - set(TAG_ORDER)):
        members = [t for t, ts in tags.items() if tag in ts]
        if members:
            groups[tag] = members
    for tag, members in groups.items():
        counts = Counter(outcomes[t] for t in members)
        rows.append(
            f"| {tag} | {len(members)} | {counts['passed']} | {counts['failed']} | "
            f"{counts['unsupported']} |"
        )
    not_passed = sorted(t for t in tags if outcomes[t] != "passed")
    summary = (
        "\n".join(rows)
        + "\n\nnot passed: "
        + (", ".join(f"{t} ({outcomes[t]})" for t in not_passed) or "none")
        + "\n"
        + (f"flaky (failed, then passed alone): {', '.join(flaky)}\n" if flaky else "")
    )
    print(summary)
    if args.summary:
        args.summary.write_text(summary)

    passing = sorted(t for t in tags if outcomes[t] == "passed")
    if args.write_floor:
        args.floor.write_text(
            f"# CWL v1.2 conformance tests that must pass ({len(passing)}/{len(tags)}).\n"
            "# Regenerate with ci/conformance_report.py --write-floor after a better run.\n"
            + "\n".join(passing)
            + "\n"
        )
    floor = read_floor(args.floor)
    below = [t for t in floor if outcomes.get(t) != "passed"]
    above = [t for t in passing if t not in set(floor)]
    print(f"conformance: {len(passing)}/{len(tags)} passed; floor {len(floor)} ({args.floor.name})")
    if flaky:
        print(f"conformance: FLAKY, failed once and passed when run again: {', '.join(flaky)}")
    if above:
        shown = ", ".join(above[:20]) + (" ..." if len(above) > 20 else "")
        print(f"conformance: {len(above)} pass beyond the floor (raise it, --write-floor): {shown}")
    if args.below_file:
        args.below_file.write_text("".join(f"{t}\n" for t in below))
    if below:
        print(f"conformance: BELOW THE FLOOR, these no longer pass: {', '.join(below)}")
        return 1
    return 0


def read_floor(path: Path) -> list[str]:
    """Test ids, one a line; ``#`` starts a comment."""
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


if __name__ == "__main__":
    sys.exit(main())
