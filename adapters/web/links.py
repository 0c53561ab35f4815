"""Where the links' secret comes from, and whether this process gives links at all.

The secret is read from the environment variable `[web] secret_env`. Without it, a secret is
made once and kept in the data directory (`web-secret`, readable by its owner only): enough
for one machine and for trying the console with `cercle web`; several instances sharing a
database must share the secret through the environment. It is never logged.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from adapters.config import Config
from bot.pages.links import LinkIssuer, LinkSigner

log = logging.getLogger(__name__)

SECRET_FILE = "web-secret"


def _file_secret(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(value + b"\n")
    log.info("web links: made a new secret in %s (set %s to choose one)", path, SECRET_FILE)
    return value


def link_secret(config: Config) -> bytes:
    if config.web.secret:
        return config.web.secret.encode()
    return _file_secret(config.data_dir / SECRET_FILE)


def link_issuer(config: Config) -> LinkIssuer | None:
    """The links /lien gives: with `[web] enabled`, or when trying Cercle in the console
    (whose links point at `cercle web`)."""
    if not (config.web.enabled or config.adapters == ("console",)):
        return None
    return LinkIssuer(
        LinkSigner(link_secret(config)),
        config.web.base_url,
        served_elsewhere=not config.web.enabled,
    )
