#!/usr/bin/env python3
"""A throw-away Synapse homeserver for Cercle's Matrix tests (standard library only).

Synapse lives in its own virtual environment (default: .venv-synapse at the repository root),
never in the project's .venv, so that its many pinned dependencies cannot clash with ours.

    python3 scripts/synapse.py install [--venv DIR]
    python3 scripts/synapse.py start --dir DIR [--port N] [--venv DIR] [--timeout S]
    python3 scripts/synapse.py status --dir DIR
    python3 scripts/synapse.py register --dir DIR USER PASSWORD [--admin]
    python3 scripts/synapse.py stop --dir DIR [--timeout S]

`start` writes DIR/homeserver.yaml (server_name "localhost", SQLite in DIR, one plain HTTP
listener on 127.0.0.1 serving the client API and the admin API, no federation, every rate limit
raised very high), starts Synapse in the background, waits until it answers and writes
DIR/synapse.json = {"url", "port", "pid", "shared_secret", "server_name"}. Its logs go to
DIR/homeserver.log (WARNING and above) and DIR/synapse.out (stdout and stderr).

The environment variable CERCLE_SYNAPSE_VENV overrides the default venv location.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from base64 import b64encode
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_VENV = Path(os.environ.get("CERCLE_SYNAPSE_VENV") or REPO / ".venv-synapse")
# Synapse publishes cp39-abi3 wheels (Rust extension) that install on Python 3.11. Bump the upper
# bound deliberately, after the Matrix tests pass against the new release.
REQUIREMENT = "matrix-synapse>=1.140,<1.170"
STAMP = ".cercle-requirement"
SERVER_NAME = "localhost"
STATE_FILE = "synapse.json"
CONFIG_FILE = "homeserver.yaml"

# Every rate limit Synapse knows of, raised far beyond what a test suite can reach. Synapse
# ignores unknown keys, so options that an older release lacks are harmless.
_HIGH = {"per_second": 1000, "burst_count": 10000}
RATE_LIMITS: dict[str, Any] = {
    "rc_message": _HIGH,
    "rc_registration": _HIGH,
    "rc_registration_token_validity": _HIGH,
    "rc_login": {"address": _HIGH, "account": _HIGH, "failed_attempts": _HIGH},
    "rc_admin_redaction": _HIGH,
    "rc_joins": {"local": _HIGH, "remote": _HIGH},
    "rc_joins_per_room": _HIGH,
    "rc_3pid_validation": _HIGH,
    "rc_invites": {"per_room": _HIGH, "per_user": _HIGH, "per_issuer": _HIGH},
    "rc_third_party_invite": _HIGH,
    "rc_media_create": _HIGH,
    "rc_federation": {
        "window_size": 1000,
        "sleep_limit": 10000,
        "sleep_delay": 0,
        "reject_limit": 10000,
        "concurrent": 1000,
    },
    "rc_key_requests": _HIGH,
    "rc_presence": {"per_user": _HIGH},
    "rc_delayed_event_mgmt": _HIGH,
    "rc_reports": _HIGH,
    "rc_room_creation": _HIGH,
    "rc_user_directory": _HIGH,
    "rc_profile": _HIGH,
}


class Failure(Exception):
    """An error worth one clear line to the user, not a traceback."""


# --------------------------------------------------------------------------------------- install


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "python"


def installed_version(venv_dir: Path) -> str | None:
    python = venv_python(venv_dir)
    if not python.exists():
        return None
    probe = "import importlib.metadata as m; print(m.version('matrix-synapse'))"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def cmd_install(args: argparse.Namespace) -> int:
    venv_dir: Path = args.venv
    stamp = venv_dir / STAMP
    version = installed_version(venv_dir)
    if version and stamp.exists() and stamp.read_text().strip() == REQUIREMENT:
        print(f"matrix-synapse {version} already installed in {venv_dir}")
        return 0
    started = time.monotonic()
    if not venv_python(venv_dir).exists():
        venv.EnvBuilder(with_pip=True, clear=False).create(venv_dir)
    pip = [str(venv_python(venv_dir)), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", REQUIREMENT], check=True)
    version = installed_version(venv_dir)
    if not version:
        raise Failure(f"matrix-synapse did not install into {venv_dir}")
    stamp.write_text(REQUIREMENT + "\n")
    elapsed = time.monotonic() - started
    print(f"matrix-synapse {version} installed in {venv_dir} ({elapsed:.0f} s)")
    return 0


# ----------------------------------------------------------------------------------------- start


def free_port(port: int = 0) -> int:
    """`port` if nothing listens on it (0: a port the system picks); 0 if it is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return 0
        return int(sock.getsockname()[1])


def unpadded_b64(data: bytes) -> str:
    return b64encode(data).decode().rstrip("=")


def write_signing_key(path: Path) -> None:
    """An ed25519 signing key in Synapse's format: the algorithm, a key id, the 32-byte seed."""
    if not path.exists():
        key_id = "a_" + secrets.token_hex(2)
        path.write_text(f"ed25519 {key_id} {unpadded_b64(secrets.token_bytes(32))}\n")
        path.chmod(0o600)


def homeserver_config(data_dir: Path, port: int, shared_secret: str) -> dict[str, Any]:
    return {
        "server_name": SERVER_NAME,
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "pid_file": str(data_dir / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                # The client resource also serves /_synapse/admin (shared-secret registration).
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(data_dir / "homeserver.db")}},
        "log_config": str(data_dir / "log.config"),
        "media_store_path": str(data_dir / "media_store"),
        "signing_key_path": str(data_dir / f"{SERVER_NAME}.signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_urlsafe(32),
        "form_secret": secrets.token_urlsafe(32),
        "enable_registration": False,
        "bcrypt_rounds": 4,  # the minimum: registration and password login in ms, not 0.3 s
        "report_stats": False,
        "enable_metrics": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "allow_public_rooms_over_federation": False,
        "url_preview_enabled": False,
        **RATE_LIMITS,
    }


def log_config(data_dir: Path) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {
            "precise": {
                "format": "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s"
            }
        },
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "precise",
                "filename": str(data_dir / "homeserver.log"),
                "encoding": "utf8",
            }
        },
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


def read_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((data_dir / STATE_FILE).read_text()))
    except (OSError, ValueError):
        return None


def is_our_synapse(pid: int, data_dir: Path) -> bool:
    """Whether `pid` is a live (not zombie) Synapse started with this directory's config."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X") and str(data_dir / CONFIG_FILE) in cmdline


def answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_matrix/client/versions", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):
        return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def launch(data_dir: Path, python: Path, port: int, timeout: float) -> tuple[int, str]:
    """Start Synapse on `port` and wait until it answers; (pid, "") or (0, why it failed)."""
    url = f"http://127.0.0.1:{port}"
    out_path = data_dir / "synapse.out"
    with out_path.open("ab") as out:
        proc = subprocess.Popen(
            [str(python), "-m", "synapse.app.homeserver", "-c", str(data_dir / CONFIG_FILE)],
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return 0, f"Synapse exited with status {proc.returncode}"
        if answers(url) and proc.poll() is None:
            proc.returncode = 0  # it runs on without us: silence Popen's "still running" warning
            return proc.pid, ""
        time.sleep(0.1)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return 0, f"Synapse did not answer on {url} within {timeout:.0f} s"


def cmd_start(args: argparse.Namespace) -> int:
    data_dir: Path = args.dir.resolve()
    python = venv_python(args.venv)
    if not python.exists() or installed_version(args.venv) is None:
        raise Failure(
            f"Synapse is not installed in {args.venv}: run `python3 scripts/synapse.py install`"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(data_dir)
    if state and is_our_synapse(int(state["pid"]), data_dir) and answers(state["url"]):
        print(state["url"])
        return 0
    (data_dir / "media_store").mkdir(exist_ok=True)
    write_signing_key(data_dir / f"{SERVER_NAME}.signing.key")
    (data_dir / "log.config").write_text(json.dumps(log_config(data_dir), indent=2) + "\n")
    shared_secret = secrets.token_urlsafe(32)
    started = time.monotonic()
    attempts = 1 if args.port else 3  # a port picked by us may be taken before Synapse binds it
    why = ""
    for _ in range(attempts):
        port = free_port(args.port)
        if not port:
            raise Failure(f"port {args.port} on 127.0.0.1 is already in use")
        config = homeserver_config(data_dir, port, shared_secret)
        # JSON is valid YAML: Synapse reads this file with yaml.safe_load.
        (data_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        pid, why = launch(data_dir, python, port, args.timeout)
        if pid:
            break
    else:
        raise Failure(
            f"{why}; see {data_dir}/synapse.out and homeserver.log:\n"
            f"{tail(data_dir / 'synapse.out')}\n{tail(data_dir / 'homeserver.log')}"
        )
    url = f"http://127.0.0.1:{port}"
    state = {
        "url": url,
        "port": port,
        "pid": pid,
        "shared_secret": shared_secret,
        "server_name": SERVER_NAME,
    }
    (data_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    print(url)
    print(f"Synapse pid {pid} ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


# ------------------------------------------------------------------------------ status and stop


def cmd_status(args: argparse.Namespace) -> int:
    data_dir: Path = args.dir.resolve()
    state = read_state(data_dir)
    if state is None:
        print(f"no Synapse started in {data_dir}")
        return 3
    running = is_our_synapse(int(state["pid"]), data_dir)
    state["running"] = running
    state["answers"] = running and answers(state["url"])
    print(json.dumps(state, indent=2))
    return 0 if state["answers"] else 3


def cmd_stop(args: argparse.Namespace) -> int:
    data_dir: Path = args.dir.resolve()
    state = read_state(data_dir)
    if state is None:
        print(f"no Synapse started in {data_dir}")
        return 0
    pid = int(state["pid"])
    if is_our_synapse(pid, data_dir):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + args.timeout
        while is_our_synapse(pid, data_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_our_synapse(pid, data_dir):
            print(f"Synapse pid {pid} ignored SIGTERM for {args.timeout} s: SIGKILL")
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while is_our_synapse(pid, data_dir) and time.monotonic() < deadline:
                time.sleep(0.05)
    (data_dir / STATE_FILE).unlink(missing_ok=True)
    print(f"Synapse pid {pid} stopped")
    return 0


# -------------------------------------------------------------------------------------- register


def register_user(
    url: str, shared_secret: str, user: str, password: str, admin: bool = False
) -> dict[str, Any]:
    """Register through the shared-secret admin API; the server's answer (user_id, tokens)."""
    endpoint = f"{url}/_synapse/admin/v1/register"
    with urllib.request.urlopen(endpoint, timeout=30) as resp:
        nonce = json.load(resp)["nonce"]
    mac = hmac.new(shared_secret.encode(), digestmod=hashlib.sha1)
    for part in (nonce, user, password, "admin" if admin else "notadmin"):
        if part != nonce:
            mac.update(b"\x00")
        mac.update(part.encode())
    body = {
        "nonce": nonce,
        "username": user,
        "password": password,
        "admin": admin,
        "mac": mac.hexdigest(),
    }
    request = urllib.request.Request(
        endpoint,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return dict(json.load(resp))
    except urllib.error.HTTPError as err:
        raise Failure(
            f"registration of {user!r} refused: {err.code} {err.read().decode()}"
        ) from err


def cmd_register(args: argparse.Namespace) -> int:
    state = read_state(args.dir.resolve())
    if state is None:
        raise Failure(f"no Synapse started in {args.dir}")
    answer = register_user(
        state["url"], state["shared_secret"], args.user, args.password, args.admin
    )
    print(json.dumps(answer, indent=2))
    return 0


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("install", help="install Synapse into its own venv")
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    p.set_defaults(func=cmd_install)

    p = sub.add_parser("start", help="configure and start Synapse in the background")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    p.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for it")
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("stop", help="stop the Synapse started in DIR")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds before SIGKILL")
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("status", help="exit 0 if the Synapse of DIR answers, 3 otherwise")
    p.add_argument("--dir", type=Path, required=True)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("register", help="register a user with the shared secret")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("user")
    p.add_argument("password")
    p.add_argument("--admin", action="store_true")
    p.set_defaults(func=cmd_register)

    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except Failure as err:
        print(f"synapse.py: {err}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as err:
        print(f"synapse.py: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
