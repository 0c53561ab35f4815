"""What `cercle` writes to its log: readable text or one JSON object per line, secrets hidden.

`cercle.log_format = "text"` (the default) is for a person reading a terminal; `"json"` is for a
log collector: each line is an object with `time` (ISO 8601, UTC), `level`, `logger`,
`message`, and `exc_info` (the traceback) when there is one.

Whatever the format or level, every record goes through `Redactor` first: the secrets the
configuration read from the environment (tokens, passwords, the database URL) and the password
part of any URL (`postgresql://user:password@host`) are replaced by `***`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from urllib.parse import urlsplit

from adapters.config import Config

MASK = "***"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# scheme://user:password@host — the password is whatever lies between the first ':' after the
# user and the '@'. Redacting a little too much (a port followed by '@' in a path) is harmless.
_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)[^@\s]+@")
_TOKEN_PARAMETER = re.compile(r"((?:access_token|token|password)=)[^&\s\"']+", re.IGNORECASE)


def secrets_of(config: Config) -> list[str]:
    """The secret values the configuration read from the environment."""
    found: list[str | None] = [config.database_url]
    if config.database_url:
        with contextlib.suppress(ValueError):  # not a URL: the whole value is hidden anyway
            found.append(urlsplit(config.database_url).password)
    if config.matrix is not None:
        found += [config.matrix.access_token, config.matrix.password]
    if config.discord is not None:
        found.append(config.discord.token)
    found.append(config.web.secret)
    return [value for value in found if value]


_REDACTORS: weakref.WeakSet[Redactor] = weakref.WeakSet()


def add_secret(secret: str) -> None:
    """A secret learnt at run time (a token from a password login): every redactor hides it."""
    for redactor in list(_REDACTORS):
        redactor.add(secret)


class Redactor(logging.Filter):
    """Replaces secrets in a record's message, traceback and stack by `***`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._values = {s for s in secrets if s}
        self._secrets: re.Pattern[str] | None = None
        self._compile()
        _REDACTORS.add(self)

    def _compile(self) -> None:
        values = sorted(self._values, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, values))) if values else None

    def add(self, secret: str) -> None:
        if secret and secret not in self._values:
            self._values.add(secret)
            self._compile()

    def redact(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        text = _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text)
        return _TOKEN_PARAMETER.sub(rf"\g<1>{MASK}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: the handler reports it, as logging does
            message = None
        if message is not None:
            record.msg, record.args = self.redact(message), None
        elif isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class LogHandler(logging.StreamHandler[TextIO]):
    """Writes records to `stream` (standard error) in `fmt`, with secrets redacted."""

    def __init__(
        self, fmt: str = "text", secrets: Iterable[str] = (), stream: TextIO | None = None
    ) -> None:
        super().__init__(stream if stream is not None else sys.stderr)
        self.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
        self.addFilter(Redactor(secrets))


def configure_logging(level: str, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Send every logger's records to standard error, in `fmt` ("text" or "json")."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, LogHandler)]:
        root.removeHandler(old)
    root.addHandler(LogHandler(fmt, secrets))
    root.setLevel(level)
    # Python's warnings go through the same handler (so JSON logs stay one object per line).
    logging.captureWarnings(True)
