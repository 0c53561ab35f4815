#!/usr/bin/env python3
"""The chart fonts' fallbacks from Debian's packages (standard library only).

    python3 scripts/fonts.py install

Charts draw names with DejaVu Sans and take the characters it lacks (emoji, symbols) from the
fallbacks listed in bot/recaps/chart.py: fonts-symbola here. `install` puts it in place when it
is missing (apt-get, as root); without it, those characters are drawn as boxes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = "fonts-symbola"
FONT = Path("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf")


def install() -> int:
    if FONT.is_file():
        print("fonts: fallback font already installed")
        return 0
    if os.geteuid() != 0:
        print(f"fonts: run as root, or install {PACKAGE} yourself", file=sys.stderr)
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", PACKAGE],
        check=True,
        env=env,
    )
    return 0 if FONT.is_file() else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["install"])
    parser.parse_args()
    return install()


if __name__ == "__main__":
    sys.exit(main())
