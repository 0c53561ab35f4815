"""Lines like `alice: /tour` in, the bot's answers out, on a real or simulated clock.

A line is `name: text` (a message from user `name`), `:clock +90s` (move the simulated clock;
`d`, `h`, `m`, `s` units, combinable as `+1h30m`), `:salon NAME` (send the next lines to another
channel), a comment starting with `#`, or blank.

A recap is printed as Markdown, followed by `[graphique] <text alternative>` when it has a
chart. With `recaps_dir` (the data directory's `recaps/` folder, for `cercle console` and
`cercle run`), each published recap is also written there as `recap-<circle>-<n>.md`, with its
chart beside it as `recap-<circle>-<n>.png`; a later recap of the same séance replaces them.
Approval drafts are printed for their facilitator and never written.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from adapters.homes import console_home
from bot.app import CercleCore
from bot.domain.refs import ChannelRef, UserRef
from bot.effects import Effect, FilePost, LiveView, PollPost, RecapPost, Reply, StatusView
from bot.events import CommandEvent
from bot.timing.clock import ManualClock
from bot.timing.schedule import ManualScheduler

log = logging.getLogger(__name__)

PLATFORM = "console"
DEFAULT_CHANNEL = "salon"

_LINE = re.compile(r"^(?P<name>[\w.\-]+)\s*:\s?(?P<text>.*)$", re.UNICODE)
_SPAN = re.compile(r"(\d+)([dhms])")


class ScriptError(ValueError):
    """A line of a console script that is not understood."""


def parse_span(text: str) -> timedelta:
    """`+90s`, `+5m`, `+1h30m`, `+4d` → a duration."""
    body = text.strip().removeprefix("+").replace(" ", "")
    if not body or _SPAN.sub("", body):
        raise ScriptError(f"not a duration: {text!r} (examples: +90s, +5m, +1h30m, +4d)")
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return timedelta(seconds=sum(int(n) * units[u] for n, u in _SPAN.findall(body)))


def resolve_mention(token: str) -> UserRef | None:
    if token.startswith("@") and len(token) > 1:
        return UserRef(PLATFORM, token[1:].rstrip(",.;:"))
    return None


@dataclass(slots=True)
class ConsoleAdapter:
    """Feeds console lines to the core and prints what it answers."""

    core: CercleCore
    out: TextIO
    channel: str = DEFAULT_CHANNEL
    show_status: bool = True
    echo: bool = True  # print the input lines too (scripts); not when a person types them
    capabilities: frozenset[str] = frozenset()  # no edits, buttons or reactions: status is printed
    recaps_dir: Path | None = None  # where published recaps are written (.md and .png)
    account: str = "local"  # names this console's home (see bot/partition.py)
    show_channel: bool = False  # "[cercle #salon] ...": for several channels in one stream
    _last_status: dict[int, str] = field(default_factory=dict)
    _last_live: dict[tuple[str, str, int, int], str] = field(default_factory=dict)

    async def feed(self, raw: str) -> None:
        line = raw.strip()
        if not line or line.startswith("#"):
            return
        if line.startswith(":"):
            await self._directive(line)
            return
        match = _LINE.match(line)
        if match is None:
            raise ScriptError(f"expected 'name: text', got {line!r}")
        name, text = match.group("name"), match.group("text").strip()
        self._echo(f"{name}: {text}")
        if not text.startswith(("/", "!")):
            return  # plain conversation: the bot neither answers nor keeps it
        event = CommandEvent(
            channel=ChannelRef(PLATFORM, self.channel),
            author=UserRef(PLATFORM, name),
            author_name=name,
            text=text,
            resolve_user=resolve_mention,
            home=self.home,
        )
        outcome = await self.core.handle(event)
        await self._show(outcome.effects)

    @property
    def home(self) -> str:
        return console_home(self.account)

    async def _directive(self, line: str) -> None:
        word, _, arg = line[1:].partition(" ")
        if word in ("clock", "horloge"):
            clock = self.core.clock
            if not isinstance(clock, ManualClock):
                raise ScriptError(":clock works only on the simulated clock (--script)")
            clock.advance(parse_span(arg))
            await self.catch_up()
        elif word in ("salon", "channel"):
            if not arg.strip():
                raise ScriptError(":salon needs a name")
            self.channel = arg.strip()
        else:
            raise ScriptError(f"unknown directive :{word}")

    async def catch_up(self) -> None:
        """On the simulated clock, wake everything due by now, in time order."""
        scheduler = self.core.scheduler
        if isinstance(scheduler, ManualScheduler):
            await self._show(await scheduler.advance_to(self.core.clock.now()))

    async def deliver(self, effects: list[Effect]) -> None:
        """What the real-time scheduler hands over (prompts, time boxes)."""
        await self._show(effects)

    async def _show(self, effects: list[Effect]) -> None:
        """Print, which is the console's delivery: the outbox rows are done."""
        self.render(effects)
        await self.core.outbox.done(*(e for e in effects if e.channel.platform == PLATFORM))

    def render(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Reply):
                where = f" #{effect.channel.id}" if self.show_channel else ""
                if effect.private and effect.to is not None:
                    self._print(f"[cercle{where} → {effect.to.id}] ", effect.text)
                else:
                    self._print(f"[cercle{where}] ", effect.text)
            elif isinstance(effect, StatusView):
                if self.show_status and self._last_status.get(effect.seance_id) != effect.text:
                    self._last_status[effect.seance_id] = effect.text
                    self._print("[statut] ", effect.text)
            elif isinstance(effect, LiveView):
                self._live(effect)
            elif isinstance(effect, RecapPost):
                self._recap(effect)
            elif isinstance(effect, FilePost):
                self._file(effect)
            elif isinstance(effect, PollPost):
                # no polls in a terminal: the choices are shown, /cas voter does the rest
                labels = [effect.question, *(label for _, label in effect.answers)]
                self._print("[sondage] ", "\n".join(labels))
        self.out.flush()

    def _live(self, view: LiveView) -> None:
        """A message kept up to date: printed when first posted, then each new version (the
        console has no edits), marked as such."""
        before = self._last_live.get(view.key)
        if before == view.text:
            return
        self._last_live[view.key] = view.text
        where = f" #{view.channel.id}" if self.show_channel else ""
        label = "cercle" if before is None and view.message_id is None else "cercle, modifié"
        self._print(f"[{label}{where}] ", view.text)

    def _file(self, post: FilePost) -> None:
        who = f" → {post.to.id}" if post.private and post.to else ""
        if post.media_type.startswith("text/") or post.media_type.endswith("json"):
            self._print(f"[cercle{who}] ", f"{post.caption} ({post.filename})")
            self.out.write(post.content.decode("utf-8", errors="replace").rstrip() + "\n")
            return
        # A picture (the /bilan chart): its caption is its text alternative; the file itself
        # goes beside the recaps when there is a data directory.
        where = post.filename
        if self.recaps_dir is not None:
            try:
                self.recaps_dir.mkdir(parents=True, exist_ok=True)
                (self.recaps_dir / post.filename).write_bytes(post.content)
                where = str(self.recaps_dir / post.filename)
            except OSError as error:
                log.warning("could not write %s: %s", post.filename, error)
        self._print(f"[graphique{who}] ", f"{post.caption} ({where})")

    def _recap(self, post: RecapPost) -> None:
        if post.private and post.to is not None:
            self._print(f"[cercle → {post.to.id}] ", post.markdown)
            if post.chart is not None:
                self._print(f"[graphique → {post.to.id}] ", post.chart.alt)
            return
        self.out.write("\n" + post.markdown + "\n\n")
        if post.chart is not None:
            self._print("[graphique] ", post.chart.alt)
        if self.recaps_dir is not None and post.filename:
            try:
                self._write_recap(self.recaps_dir, post)
            except OSError as error:
                log.warning("could not write the recap to %s: %s", self.recaps_dir, error)

    @staticmethod
    def _write_recap(folder: Path, post: RecapPost) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        text = post.markdown
        if post.chart is not None:
            (folder / post.chart.filename).write_bytes(post.chart.png)
            alt = post.chart.alt.replace("]", ")").replace("[", "(")
            text += f"\n\n![{alt}]({post.chart.filename})"
        (folder / f"{post.filename}.md").write_text(text + "\n", "utf-8")

    def _print(self, prefix: str, text: str) -> None:
        pad = " " * len(prefix)
        lines = text.splitlines() or [""]
        self.out.write(prefix + lines[0] + "\n")
        for more in lines[1:]:
            self.out.write(pad + more + "\n")

    def _echo(self, text: str) -> None:
        if self.echo:
            self.out.write(text + "\n")
