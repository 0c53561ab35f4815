#!/usr/bin/env python3
"""A throw-away PostgreSQL cluster for Cercle's tests and benchmarks (standard library only).

    python3 scripts/postgres.py install
    python3 scripts/postgres.py start --dir DIR [--port N]
    python3 scripts/postgres.py stop --dir DIR

`install` puts Debian's PostgreSQL server in place when it is missing (apt-get, as root).
`start` creates a cluster in DIR/data (user "cercle", trust authentication, UTF-8), listens on
127.0.0.1 only (a Unix socket in DIR/run), waits until it accepts connections and writes
DIR/postgres.json = {"port", "pid", "url"} where "url" is an SQLAlchemy URL for asyncpg without
a database name. Its log is DIR/postgres.log. `stop` is a fast shutdown.

When run as root, the server runs as the "postgres" system user (PostgreSQL refuses root).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

USER = "cercle"
STATE_FILE = "postgres.json"
PACKAGE = "postgresql-15"


def bin_dir() -> Path | None:
    """The newest installed server's bin directory (Debian layout), or the PATH's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def install() -> int:
    if bin_dir() is not None:
        print("postgres: server already installed")
        return 0
    if os.geteuid() != 0:
        print(f"postgres: run as root, or install {PACKAGE} yourself", file=sys.stderr)
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", PACKAGE],
        check=True,
        env=env,
    )
    return 0 if bin_dir() is not None else 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _hand_over(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def start(directory: Path, port: int | None) -> int:
    binaries = bin_dir()
    if binaries is None:
        print(
            "postgres: no server installed (python3 scripts/postgres.py install)", file=sys.stderr
        )
        return 1
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    _hand_over(directory)
    data, run, log = directory / "data", directory / "run", directory / "postgres.log"
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    USER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    run.mkdir(exist_ok=True)
    _hand_over(run)
    log.touch()
    _hand_over(log)
    port = port or _free_port()
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {run} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_server_user(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-o",
                options,
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pid = int((data / "postmaster.pid").read_text().split()[0])
    state = {"port": port, "pid": pid, "url": f"postgresql+asyncpg://{USER}@127.0.0.1:{port}"}
    (directory / STATE_FILE).write_text(json.dumps(state))
    print(json.dumps(state))
    return 0


def stop(directory: Path) -> int:
    binaries = bin_dir()
    data = directory.resolve() / "data"
    if binaries is None or not (data / "postmaster.pid").exists():
        return 0
    subprocess.run(
        _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
        check=False,
        stdout=subprocess.DEVNULL,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="postgres.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install")
    start_cmd = sub.add_parser("start")
    start_cmd.add_argument("--dir", type=Path, required=True)
    start_cmd.add_argument("--port", type=int)
    stop_cmd = sub.add_parser("stop")
    stop_cmd.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "install":
        return install()
    if args.command == "start":
        return start(args.dir, args.port)
    return stop(args.dir)


if __name__ == "__main__":
    sys.exit(main())
