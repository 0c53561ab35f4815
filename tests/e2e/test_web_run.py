"""`cercle run` with `[web] enabled`: the pages are served by the bot's own process, and what a
facilitator's form tells the channel is posted by the running adapter (here the console)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from html import unescape
from pathlib import Path

from tests.cli import ROOT

SECRET = "a secret for this test only, long enough"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(check: Callable[[], str | None], seconds: float, what: str) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_cercle_run_serves_the_pages_and_the_channel_is_told(tmp_path: Path) -> None:
    port, ops = free_port(), free_port()
    config = tmp_path / "cercle.toml"
    config.write_text(
        f'[cercle]\ndata_dir = "{tmp_path / "data"}"\nadapters = ["console"]\n\n'
        f"[metrics]\nenabled = true\nport = {ops}\n\n"
        f'[web]\nenabled = true\nport = {port}\nbase_url = "http://127.0.0.1:{port}"\n',
        "utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERCLE_")}
    env["CERCLE_WEB_SECRET"] = SECRET
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "--config", str(config), "run"],
            stdin=subprocess.PIPE,
            stdout=stdout,
            stderr=stderr,
            cwd=ROOT,
            env={**env, "PYTHONIOENCODING": "utf-8"},
        )
    assert process.stdin is not None
    try:
        process.stdin.write(
            "anim: /cercle creer Cercle ESS\n"
            "anim: /seance planifier 2028-03-02 14:00 | Déléguer\n"
            "anim: /lien\n".encode()
        )
        process.stdin.flush()
        pattern = re.compile(rf"http://127\.0\.0\.1:{port}/c/[A-Za-z0-9_.-]+")

        def link_given() -> str | None:
            found = pattern.search(out.read_text("utf-8"))
            return found[0] if found else None

        link = wait_for(link_given, 60, "the link")
        with urllib.request.urlopen(link, timeout=10) as answer:
            page = unescape(answer.read().decode())
        assert "jeudi 2 mars 2028 à 14:00" in page
        key = re.search(r'name="form_key" value="([^"]+)"', page)
        assert key
        form = urllib.parse.urlencode(
            {"form_key": key[1], "action": "move", "number": "1", "when": "2028-03-03 10:00"}
        ).encode()
        request = urllib.request.Request(
            link, data=form, headers={"Origin": f"http://127.0.0.1:{port}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert "C'est fait" in unescape(answer.read().decode())
        said = "La séance 1 est déplacée au vendredi 3 mars 2028 à 10:00 (heure de Paris)."
        wait_for(lambda: said if said in out.read_text("utf-8") else None, 30, "the channel")
        with urllib.request.urlopen(f"http://127.0.0.1:{ops}/healthz", timeout=10) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdin.close()
    log = err.read_text("utf-8")
    assert code == 0, log
    assert f"circle pages on http://127.0.0.1:{port}" in log
    assert "POST /c/… 200" in log
    assert link.rsplit("/", 1)[1] not in log
    assert SECRET not in log
