"""`cercle console --script -` as a child process, for tests that kill and restart Cercle.

The test writes lines to the child's standard input; a reader thread per child feeds a queue,
and every wait has a timeout, so nothing sleeps for a fixed time. To know that a child has
finished with some lines, the test sends a marker line (`sync: N`, plain conversation that the
bot echoes and ignores) and reads up to its echo.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0
READY = "[console] ready"


class Console:
    """One child process, fed line by line.

    `startup` holds what the process printed before it said it was ready (the overdue prompts
    and time boxes it fired while rebuilding its wake-ups). `options` go before the command
    (`--config FILE`), `console_options` after it (`--account a`); `env` is added to a copy of
    this process's environment without its CERCLE_ variables."""

    def __init__(
        self,
        data_dir: Path,
        start: str,
        log: Path,
        *,
        wait: bool = True,
        options: Sequence[str] = (),
        console_options: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("CERCLE_")}
        child_env.update(env or {})
        child_env["PYTHONUNBUFFERED"] = "1"
        child_env["PYTHONIOENCODING"] = "utf-8"
        self.log = log
        self._stderr = log.open("a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "adapters.cli",
                *options,
                "--data-dir",
                str(data_dir),
                "console",
                "--script",
                "-",
                "--start",
                start,
                *console_options,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=child_env,
            cwd=ROOT,
        )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self._stdin: IO[str] = self.proc.stdin
        self._stdout: IO[str] = self.proc.stdout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.transcript: list[str] = []
        self.startup: list[str] = []
        self._syncs = 0
        self._closed = False
        if wait:
            self.ready()

    def ready(self) -> list[str]:
        """Wait for the ready line; what was printed before it."""
        self.startup = self.expect(READY)[:-1]
        return self.startup

    def _read(self) -> None:
        for line in self._stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _next(self) -> str:
        try:
            line = self._lines.get(timeout=TIMEOUT)
        except queue.Empty:
            self._fail(f"no output for {TIMEOUT} s")
        if line is None:
            self._fail("the process ended")
        self.transcript.append(line)
        return line

    def _fail(self, why: str) -> NoReturn:
        self._stderr.flush()
        errors = self.log.read_text("utf-8")
        shown = "\n".join(self.transcript[-60:])
        pytest.fail(f"{why}\n--- output ---\n{shown}\n--- stderr ---\n{errors}")

    def expect(self, wanted: str) -> list[str]:
        """Read lines up to and including the exact line `wanted`."""
        seen: list[str] = []
        while True:
            line = self._next()
            seen.append(line)
            if line == wanted:
                return seen

    def send(self, *lines: str) -> None:
        for line in lines:
            self._stdin.write(line + "\n")
        self._stdin.flush()

    def sync(self) -> list[str]:
        """Send a marker; the lines printed before its echo (everything sent so far is done)."""
        self._syncs += 1
        marker = f"sync: {self._syncs}"
        self.send(marker)
        return self.expect(marker)[:-1]

    def run(self, *lines: str) -> list[str]:
        """Send lines, wait until all are handled; the lines they printed."""
        self.send(*lines)
        return self.sync()

    def messages(self, *lines: str) -> list[str]:
        """Like `run`, but a message is its first line and the indented lines that follow,
        joined by newlines (without the indentation)."""
        messages: list[str] = []
        for line in self.run(*lines):
            if line.startswith(" ") and messages:
                messages[-1] += "\n" + line.strip()
            else:
                messages.append(line)
        return messages

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind in the child."""
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=TIMEOUT) == -signal.SIGKILL
        self._close()

    def stop(self) -> int:
        """End of input: the console closes its runtime and exits."""
        self._stdin.close()
        code = self.proc.wait(timeout=TIMEOUT)
        self._close()
        return code

    def ensure_dead(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._reader.join(timeout=TIMEOUT)
        for stream in (self._stdin, self._stdout):
            with contextlib.suppress(BrokenPipeError):
                stream.close()
        self._stderr.close()
