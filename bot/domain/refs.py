"""Identity values: who and where, as ids rather than live platform objects."""

from __future__ import annotations

from dataclasses import dataclass, field

ANONYMOUS = "anon"  # the platform of people erased with /oubli: their turns stay, their name goes


@dataclass(frozen=True, slots=True, order=True)
class UserRef:
    """A person on one platform (`console:alice`, `matrix:@alice:example.org`).

    `key` is made once: storage and views read it for every member on every command, which
    adds up in a circle of a few hundred people."""

    platform: str
    id: str
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.platform}:{self.id}")

    @classmethod
    def from_key(cls, key: str) -> UserRef:
        platform, _, ident = key.partition(":")
        return cls(platform, ident)

    @property
    def is_anonymous(self) -> bool:
        return self.platform == ANONYMOUS

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True, order=True)
class ChannelRef:
    """A channel (Discord) or room (Matrix) or console channel a circle is bound to.

    `key` is made once, as for `UserRef`: every command reads it several times (its lock, the
    circle's cache, each outbox row)."""

    platform: str
    id: str
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.platform}:{self.id}")

    @classmethod
    def from_key(cls, key: str) -> ChannelRef:
        platform, _, ident = key.partition(":")
        return cls(platform, ident)

    def __str__(self) -> str:
        return self.key
