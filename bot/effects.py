"""What the core asks an adapter to do: post a message, show the live status, post a recap.

An effect the core wrote to its outbox carries the row's `outbox_id`: the adapter tells the core
once the platform has acknowledged it (`CercleCore.delivered`), see bot/outbox.py.

`private` effects are for `to` alone where the platform can. `confidential` ones (and private
recaps) hold things about people (an approval draft, a note that someone is drifting away, what
/oubli will erase): an adapter that cannot show them to `to` alone must not post them at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.refs import ChannelRef, UserRef


@dataclass(frozen=True, slots=True)
class Moment:
    """An instant written into a message's text (in the circle's zone and language): a platform
    that shows times in each reader's own zone (Discord) puts its own form in place of `text`."""

    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer a platform may offer as a button under a message (bot/handlers/live.py): the
    command `command` (its key, `action.fait`) about the circle's item or séance `number`, with
    its `label` in the circle's language."""

    command: str
    number: int
    label: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """A message for a channel; `private` ones go only to `to` where the platform can."""

    channel: ChannelRef
    text: str
    to: UserRef | None = None
    private: bool = False
    mentions: tuple[UserRef, ...] = ()
    confidential: bool = False
    outbox_id: int | None = None
    moments: tuple[Moment, ...] = ()
    answers: tuple[Answer, ...] = ()  # offered as buttons where the platform can (Discord)


@dataclass(frozen=True, slots=True)
class StatusView:
    """The live status of an open séance, kept in one message that adapters edit in place."""

    channel: ChannelRef
    seance_id: int
    message_id: str | None
    text: str
    closed: bool = False
    lang: str = "fr"
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class ChartImage:
    """A chart as a PNG file, with its text alternative (for screen readers and text clients)."""

    png: bytes
    alt: str
    filename: str  # e.g. recap-cercle-ess-3.png


@dataclass(frozen=True, slots=True)
class EmbedField:
    """One field of a Discord embed."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class RecapEmbed:
    """The recap laid out for a Discord embed, already within Discord's limits.

    `image` is `attachment://<chart filename>` when the chart comes with the post; `truncated`
    means something did not fit: attach the Markdown as a file as well."""

    title: str
    description: str
    fields: tuple[EmbedField, ...]
    footer: str
    image: str | None = None
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class RecapPost:
    """A séance recap, in every layout an adapter may want, all made from one recap model.

    - `markdown`: for text clients and files (the console writes `<filename>.md`);
    - `html`: for Matrix's `formatted_body` (with `markdown` as the plain `body`);
    - `embed`: for Discord; its `image` points at the chart attachment;
    - `chart`: the speaking-time chart (PNG bytes, alt text, file name), or None when nobody
      spoke or it could not be drawn; upload it with the post (Discord attachment, Matrix
      `m.image` with the alt text as its body);
    - `private` with `to`: an approval draft for that facilitator alone; never post it in the
      channel (ephemeral answer or direct message, else drop it).
    """

    channel: ChannelRef
    seance_id: int
    markdown: str
    mentions: tuple[UserRef, ...] = field(default=())
    html: str = ""
    embed: RecapEmbed | None = None
    chart: ChartImage | None = None
    number: int = 0
    filename: str = ""  # base name without extension, e.g. recap-cercle-ess-3
    lang: str = "fr"
    to: UserRef | None = None
    private: bool = False
    outbox_id: int | None = None


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
    confidential: bool = False
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class FloorSpeaker:
    """Who has the floor, for a circle that follows it in a voice or Stage channel.

    A platform that can (Discord) lets `speaker` speak in `voice_channel` and moves `previous`
    back: in a Stage, speaker and audience; in a `strict` voice channel, everyone but the speaker
    and the people in `keep` (the facilitators) is server-muted. `closed`: the séance is over,
    everyone speaks again. Sent with every status update, so an adapter acts on changes only."""

    channel: ChannelRef
    voice_channel: str
    speaker: UserRef | None
    previous: UserRef | None = None
    strict: bool = False
    keep: tuple[UserRef, ...] = ()
    closed: bool = False
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class PollPost:
    """A native poll on the cases in the running (a Discord message poll, a Matrix
    `m.poll.start`). `answers` are (case number, label) in the poll's order; a person may tick
    up to `max_selections` of them, each once: a tick is one vote on that case. The adapter
    tells the core the poll's platform id (`CercleCore.record_poll`) once it is posted."""

    channel: ChannelRef
    circle_id: int
    question: str
    answers: tuple[tuple[int, str], ...]
    max_selections: int = 1
    closes_at: datetime | None = None
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class PollEnd:
    """The vote is over: the native poll `poll_ref` ends (Discord ends the poll, Matrix gets an
    `m.poll.end` saying `text`)."""

    channel: ChannelRef
    poll_ref: str
    text: str = ""
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class LiveView:
    """A message kept up to date in place between séances (bot/domain/live.py): the RSVP
    question with the answers so far, the follow-up list with each action's state.

    Posted once, then edited: `message_id` is the platform's id once posted (an adapter that
    posts it records it with `CercleCore.record_live_message`, and looks it up with
    `CercleCore.live_message_id` when a view comes without it). A newer view of the same
    (channel, kind, séance) makes an older one still queued needless. `answers` are the answers
    a platform may offer natively on the message (buttons, reactions), as `/presence` values;
    `closed`: no more answers (the séance is no longer ahead, the vote is decided). `round`
    tells apart the messages one séance has of a kind that starts again: each thumbs vote on a
    Lean Coffee topic is a message of its own (0 for the others)."""

    channel: ChannelRef
    kind: str
    seance_id: int
    number: int
    message_id: str | None
    text: str
    lang: str = "fr"
    answers: tuple[str, ...] = ()
    closed: bool = False
    mentions: tuple[UserRef, ...] = ()  # named in every version, pinged only by the first
    outbox_id: int | None = None
    round: int = 0

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.channel.id, self.kind, self.seance_id, self.round)


Effect = Reply | StatusView | RecapPost | FilePost | FloorSpeaker | PollPost | PollEnd | LiveView
