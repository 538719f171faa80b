"""Run the benchmark scripts in this folder, one after another, in one process each.

`python -m benchmarks` runs every `bench_*.py`; `python -m benchmarks exact yuma` runs only
`bench_exact.py` and `bench_yuma.py`. Arguments that are not benchmark names (options such
as `--yuma-sim PATH`) are passed on to each script.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    scripts = {path.stem.removeprefix("bench_"): path for path in sorted(HERE.glob("bench_*.py"))}
    args = sys.argv[1:]
    names = []
    while args and args[0] in scripts:  # leading benchmark names select scripts
        names.append(args.pop(0))
    status = 0
    for name in names or list(scripts):
        script = scripts[name]
        print(f"\n=== {script.name}", flush=True)
        status |= subprocess.call([sys.executable, str(script), *args])
    return status


if __name__ == "__main__":
    sys.exit(main())
