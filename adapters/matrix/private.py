"""What the Matrix account keeps on disk and in logs stays private.

The data folder holds the session (an access token), the sync position and, with encryption,
the key store: folders are created 0700 and files 0600 whatever the process umask, as the
operator documentation asks. The access token of a password login never reaches a log: nio
logs every response it parses at DEBUG (`nio.responses`), the login one included, so that
logger redacts tokens before any handler sees the record, and the token joins the secrets every
log handler hides as soon as it exists.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from adapters.logs import MASK, add_secret

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_TOKEN_FIELD = re.compile(
    r"""(['"]?(?:access_token|refresh_token)['"]?\s*[:=]\s*['"]?)[^'",\s}]+"""
)


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """`path` (created empty if missing) readable by its owner only."""
    if not path.exists():
        path.touch(mode=PRIVATE_FILE)
    os.chmod(path, PRIVATE_FILE)
    return path


def private_tree(path: Path) -> None:
    """Every folder under `path` 0700, every file 0600 (the key store nio created)."""
    if not path.exists():
        return
    private_dir(path)
    for child in path.rglob("*"):
        os.chmod(child, PRIVATE_DIR if child.is_dir() else PRIVATE_FILE)


class _TokenFilter(logging.Filter):
    """Masks access tokens in what nio logs about responses."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        if "token" in message:
            record.msg, record.args = _TOKEN_FIELD.sub(rf"\g<1>{MASK}", message), None
        return True


_FILTER = _TokenFilter()


def hide_login_tokens() -> None:
    """Install the filter on nio's loggers that log responses (idempotent)."""
    for name in ("nio.responses", "nio.client.async_client", "nio.api"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def remember_secret(token: str) -> None:
    """A token obtained at run time: hidden from every log handler from now on."""
    add_secret(token)
