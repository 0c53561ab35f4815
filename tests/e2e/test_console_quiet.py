"""The interactive console is a conversation: no log line may cut into it unless asked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _console(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERCLE_")}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--data-dir", str(tmp_path), "console", *extra],
        input="anim: /cercle creer Essai\nanim: /aide\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_the_interactive_console_prints_only_the_conversation(tmp_path: Path) -> None:
    result = _console(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Cercle « Essai » créé" in result.stdout
    assert " INFO " not in result.stdout + result.stderr
    assert result.stderr == ""


def test_logs_come_back_when_asked(tmp_path: Path) -> None:
    result = _console(tmp_path, "--log-level", "info")
    assert result.returncode == 0, result.stderr
    assert " INFO " in result.stderr
    assert " INFO " not in result.stdout
