"""What the core asks an adapter to do: post a message, show the live status, post a recap."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.refs import ChannelRef, UserRef


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for a channel; `private` ones go only to `to` where the platform can."""

    channel: ChannelRef
    text: str
    to: UserRef | None = None
    private: bool = False
    mentions: tuple[UserRef, ...] = ()


@dataclass(frozen=True, slots=True)
class StatusView:
    """The live status of an open séance, kept in one message that adapters edit in place."""

    channel: ChannelRef
    seance_id: int
    message_id: str | None
    text: str
    closed: bool = False
    lang: str = "fr"


@dataclass(frozen=True, slots=True)
class RecapPost:
    """A séance recap, as Markdown, for the circle's channel."""

    channel: ChannelRef
    seance_id: int
    markdown: str
    mentions: tuple[UserRef, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class FilePost:
    """A file for a person or the channel (an export): name, media type and bytes."""

    channel: ChannelRef
    filename: str
    media_type: str
    content: bytes
    caption: str = ""
    to: UserRef | None = None
    private: bool = True


Effect = Reply | StatusView | RecapPost | FilePost
