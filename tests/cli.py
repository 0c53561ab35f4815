"""Running the real `cercle` command in a child process, as an operator would type it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cercle(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`cercle ARGS`, with this environment minus its CERCLE_ variables, plus `env`."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("CERCLE_")}
    child_env.update(env or {})
    child_env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
