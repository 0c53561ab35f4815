#!/usr/bin/env python3
"""The browser tests' tools: Debian's Chromium and ChromeDriver, and axe-core (standard library
only).

    python3 scripts/browser.py install

puts `chromium` and `chromium-driver` in place when they are missing (apt-get, as root; the
browser downloads of Selenium and Playwright do not work here), and axe-core from the npm
registry in `.cache/browser/` (ignored by git), where `tests/adapters/web/` looks for
`node_modules/axe-core/axe.min.js`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "browser"
AXE = CACHE / "node_modules" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.10"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def install_browser() -> int:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        print("browser: chromium and chromedriver already installed")
        return 0
    if os.geteuid() != 0:
        print("browser: run as root, or install chromium and chromium-driver", file=sys.stderr)
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=True, env=env
    )
    return 0 if CHROMIUM.exists() and CHROMEDRIVER.exists() else 1


def install_axe() -> int:
    if AXE.exists():
        print("browser: axe-core already installed")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("browser: npm is missing (needed for axe-core)", file=sys.stderr)
        return 1
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(CACHE),
            "--no-audit",
            "--no-fund",
            "--silent",
            f"axe-core@~{AXE_VERSION}",
        ],
        check=True,
    )
    return 0 if AXE.exists() else 1


def main(argv: list[str]) -> int:
    if argv != ["install"]:
        print(__doc__, file=sys.stderr)
        return 2
    return install_browser() or install_axe()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
