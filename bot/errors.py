"""The one way a handler says no: a refusal with a message key, in the circle's language."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """A command that cannot be carried out; nothing it touched is kept."""

    def __init__(self, key: str, **args: Any) -> None:
        super().__init__(key)
        self.key = key
        self.args_ = args
