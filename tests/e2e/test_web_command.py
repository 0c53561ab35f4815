"""`cercle console` then `cercle web` on one data directory, as a person trying Cercle would:
the console's /lien link opens the page served by `cercle web`, a facilitator's form works, and
what the channel would be told is written on `cercle web`'s output."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

import pytest

from tests.cli import ROOT, run_cercle


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_console_links_open_the_pages_of_cercle_web(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "cercle.toml"
    config.write_text(
        f'[cercle]\ndata_dir = "{tmp_path / "data"}"\n\n'
        f'[web]\nport = {port}\nbase_url = "http://127.0.0.1:{port}"\n',
        "utf-8",
    )
    script = tmp_path / "script.txt"
    script.write_text(
        "anim: /cercle creer Cercle ESS\n"
        "anim: /seance planifier 2028-03-02 14:00 | Déléguer | Que lâcher ?\n"
        "anim: /lien\n",
        "utf-8",
    )
    console = run_cercle("--config", str(config), "console", "--script", str(script))
    assert console.returncode == 0, console.stderr
    found = re.search(rf"http://127\.0\.0\.1:{port}/c/[A-Za-z0-9_.-]+", console.stdout)
    assert found, console.stdout
    link = found[0]

    env = {k: v for k, v in os.environ.items() if not k.startswith("CERCLE_")}
    web = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "--config", str(config), "web"],
        cwd=ROOT,
        env={**env, "PYTHONIOENCODING": "utf-8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert web.stdout is not None
        banner = web.stdout.readline() + web.stdout.readline()
        assert f"web pages on http://127.0.0.1:{port}" in banner, banner
        with urllib.request.urlopen(link, timeout=10) as answer:
            page = unescape(answer.read().decode())
        assert "Cercle ESS" in page
        assert "jeudi 2 mars 2028 à 14:00" in page
        key = re.search(r'name="form_key" value="([^"]+)"', page)
        assert key, "a facilitator's page has the plan form"
        form = urllib.parse.urlencode(
            {"form_key": key[1], "action": "move", "number": "1", "when": "2028-03-03 10:00"}
        ).encode()
        request = urllib.request.Request(
            link, data=form, headers={"Origin": f"http://127.0.0.1:{port}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            moved = unescape(answer.read().decode())
        assert "La séance 1 est déplacée au vendredi 3 mars 2028 à 10:00 (heure de Paris)." in moved
        assert "Le salon n'est pas prévenu directement" in moved  # no bot runs here
        told = web.stdout.readline()
        assert told == (
            "[console:salon] Cercle: La séance 1 est déplacée au vendredi 3 mars 2028 "
            "à 10:00 (heure de Paris).\n"
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(link[:-3] + "xyz", timeout=10)
        assert refused.value.code == 403
        refused.value.close()
    finally:
        web.send_signal(signal.SIGTERM)
        try:
            code = web.wait(timeout=20)
        finally:
            if web.poll() is None:
                web.kill()
    assert code == 0
    _, errors = web.communicate()
    assert link.rsplit("/", 1)[1] not in errors  # the log has no token
    assert "GET /c/… 200" in errors
