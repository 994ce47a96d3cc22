"""Two saved benchmark runs side by side: the machines, then every figure with the change from A to B.

.venv/bin/python -m bench.compare bench/results/20261125T171123.json bench/results/20261126T090000.json
.venv/bin/python -m bench.compare                  # the two newest runs in bench/results/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import report
from bench.run import RESULTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("runs", nargs="*", type=Path, help="A.json B.json (default: the two newest saved runs)")
    args = parser.parse_args(argv)
    paths: list[Path] = args.runs or sorted(RESULTS.glob("2*.json"))[-2:]
    if len(paths) != 2:
        parser.error(f"give two runs' JSON files (found {len(paths)} in {RESULTS})")
    try:
        before, after = (report.load(path) for path in paths)
    except (OSError, ValueError, KeyError, TypeError) as wrong:
        parser.error(f"cannot read a run: {wrong}")
    print(f"A: {paths[0]}  \nB: {paths[1]}\n")
    print(report.compare(before, after))
    return 0


if __name__ == "__main__":
    sys.exit(main())
