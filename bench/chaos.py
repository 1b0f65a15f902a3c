"""The full chaos run on demand: 100 random kill -9 of kukeond while 20 cells are applied,
updated and deleted, then convergence and leaks counted from the host (the same code as
tests/reliability/test_chaos.py, which runs 10 in CI).

    sudo .venv/bin/python -m bench.chaos [ITERATIONS] [SEED]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    iterations = argv[0] if argv else "100"
    seed = argv[1] if len(argv) > 1 else "1"
    env = {**os.environ, "KUKEON_CHAOS_ITERATIONS": iterations, "KUKEON_CHAOS_SEED": seed}
    test = "tests/reliability/test_chaos.py"
    # scripts/test runs pytest as root in a private network namespace, as CI does
    return subprocess.run(
        [str(ROOT / "scripts/test"), test, "-q", "-s", "-p", "no:cacheprovider"], env=env, cwd=ROOT
    ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
