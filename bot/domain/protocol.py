"""Séance protocols: the ordered phases a séance goes through, loaded from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from importlib import resources
from typing import Any


class PhaseMode(StrEnum):
    """How the floor is given during a phase."""

    QUEUE = "queue"  # people raise their hand with /tour; fair order by default
    ROUND = "round"  # everyone present, in roster order (tour de table)
    SINGLE = "single"  # one named speaker (e.g. the exposé of the case owner)


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """One phase of a protocol: its key (for the catalogs), mode and time boxes."""

    key: str
    mode: PhaseMode
    duration: timedelta | None = None
    turn_limit: timedelta | None = None
    title: str | None = None  # a custom protocol's own wording, used as is
    topics: bool = False  # the circle's proposed topics (`/cas`) run here, one time box each


@dataclass(frozen=True, slots=True)
class Protocol:
    """A named, ordered list of phases; a protocol with a `topics` phase (Lean Coffee) also
    says how long each topic's time box is and by how much a vote extends it."""

    name: str
    phases: tuple[PhaseSpec, ...]
    topic_minutes: timedelta | None = None
    extend_minutes: timedelta | None = None


class ProtocolError(ValueError):
    """A protocol definition that cannot be used; the message names the field."""


BUILTIN_NAMES = ("libre", "meteo", "codev", "leancoffee")
DEFAULT_TOPIC = timedelta(minutes=8)  # a topic's time box when the protocol names none
DEFAULT_EXTENSION = timedelta(minutes=4)


def _minutes(value: Any, where: str) -> timedelta | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ProtocolError(f"{where}: expected a positive number of minutes, got {value!r}")
    return timedelta(minutes=value)


def protocol_from_mapping(name: str, data: dict[str, Any]) -> Protocol:
    """Build a protocol from parsed TOML (`[[phase]]` tables)."""
    phases_data = data.get("phase")
    if not isinstance(phases_data, list) or not phases_data:
        raise ProtocolError(f"protocol {name!r}: needs at least one [[phase]]")
    phases: list[PhaseSpec] = []
    for i, raw in enumerate(phases_data, start=1):
        where = f"protocol {name!r}, phase {i}"
        if not isinstance(raw, dict):
            raise ProtocolError(f"{where}: expected a table")
        unknown = set(raw) - {"key", "mode", "minutes", "turn_minutes", "title", "topics"}
        if unknown:
            raise ProtocolError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        key = raw.get("key")
        if not isinstance(key, str) or not key.isidentifier():
            raise ProtocolError(f"{where}: 'key' must be a short identifier")
        try:
            mode = PhaseMode(raw.get("mode", "queue"))
        except ValueError:
            raise ProtocolError(f"{where}: 'mode' must be one of queue, round, single") from None
        title = raw.get("title")
        if title is not None and not isinstance(title, str):
            raise ProtocolError(f"{where}: 'title' must be text")
        topics = raw.get("topics", False)
        if not isinstance(topics, bool):
            raise ProtocolError(f"{where}: 'topics' must be true or false")
        if topics and mode is not PhaseMode.QUEUE:
            raise ProtocolError(f"{where}: a 'topics' phase has the open floor (mode 'queue')")
        phases.append(
            PhaseSpec(
                key=key,
                mode=mode,
                duration=_minutes(raw.get("minutes"), f"{where}, 'minutes'"),
                turn_limit=_minutes(raw.get("turn_minutes"), f"{where}, 'turn_minutes'"),
                title=title,
                topics=topics,
            )
        )
    unknown = set(data) - {"phase", "topic_minutes", "extend_minutes"}
    if unknown:
        raise ProtocolError(f"protocol {name!r}: unknown key {sorted(unknown)[0]!r}")
    return Protocol(
        name=name,
        phases=tuple(phases),
        topic_minutes=_minutes(data.get("topic_minutes"), f"protocol {name!r}, 'topic_minutes'"),
        extend_minutes=_minutes(data.get("extend_minutes"), f"protocol {name!r}, 'extend_minutes'"),
    )


def load_builtin(name: str) -> Protocol:
    """One of the protocols shipped with Cercle."""
    if name not in BUILTIN_NAMES:
        raise ProtocolError(f"unknown protocol {name!r}")
    text = resources.files("bot.protocols").joinpath(f"{name}.toml").read_text("utf-8")
    return protocol_from_mapping(name, tomllib.loads(text))


class ProtocolBook:
    """All protocols a circle may pick: the built-in ones plus those of the config."""

    def __init__(self, custom: dict[str, Protocol] | None = None) -> None:
        self._protocols = {name: load_builtin(name) for name in BUILTIN_NAMES}
        self._protocols.update(custom or {})

    def get(self, name: str) -> Protocol | None:
        return self._protocols.get(name)

    def names(self) -> list[str]:
        return sorted(self._protocols)
