"""Identity values: who and where, as ids rather than live platform objects."""

from __future__ import annotations

from dataclasses import dataclass

ANONYMOUS = "anon"  # the platform of people erased with /oubli: their turns stay, their name goes


@dataclass(frozen=True, slots=True, order=True)
class UserRef:
    """A person on one platform (`console:alice`, `matrix:@alice:example.org`)."""

    platform: str
    id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.id}"

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
    """A channel (Discord) or room (Matrix) or console channel a circle is bound to."""

    platform: str
    id: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.id}"

    @classmethod
    def from_key(cls, key: str) -> ChannelRef:
        platform, _, ident = key.partition(":")
        return cls(platform, ident)

    def __str__(self) -> str:
        return self.key
