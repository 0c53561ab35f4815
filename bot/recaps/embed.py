"""The recap as a Discord-ready structure (title, description, fields), within Discord's limits.

The Discord adapter turns `RecapEmbed` into `discord.Embed`: title, description, one field per
entry of `fields` (not inline), the footer, and `image` (`attachment://<chart file>`) when the
chart is attached. When something did not fit (`truncated`), the adapter should attach the
Markdown recap as a file too, so nothing is lost.
"""

from __future__ import annotations

from bot.effects import EmbedField, RecapEmbed
from bot.ports import Translator
from bot.recaps.model import Recap, RecapText, recap_text
from bot.views.markdown import escape_markdown as esc

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
TOTAL_LIMIT = 6000
ELLIPSIS = "…"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def render_embed(recap: Recap, tr: Translator, lang: str, tz: str) -> RecapEmbed:
    return embed_of(recap_text(recap, tr, lang, tz), tr.text(lang, "recap.more"))


def embed_of(text: RecapText, more: str) -> RecapEmbed:
    """Sections become fields; long ones are split over several fields of at most 1,024
    characters; past 25 fields or 6,000 characters in all, the rest is left out and the embed
    says so (`more`). Every text is escaped (names and notes are what people typed); the
    footer is not Markdown on Discord."""
    title = _cut(esc(text.title), TITLE_LIMIT)
    footer = _cut(text.footer, 2048)
    description_lines = [esc(text.when)]
    if text.banner:
        description_lines.append(f"**{esc(text.banner)}**")
    attendance = next((s for s in text.sections if s.key == "attendance"), None)
    if attendance is not None:
        description_lines.extend("• " + esc(line) for line in attendance.lines)
    description = _cut("\n".join(description_lines), DESCRIPTION_LIMIT)
    budget = TOTAL_LIMIT - len(title) - len(footer) - len(description) - len(more) - 8
    fields: list[EmbedField] = []
    truncated = False
    sections = [s for s in text.sections if s.key != "attendance"]
    blocks: list[tuple[str, list[str]]] = [
        (esc(s.heading), ["• " + esc(line) for line in s.lines] + [esc(a) for a in s.after])
        for s in sections
    ]
    blocks.append(("\u200b", [esc(line) for line in text.closing]))
    for heading, lines in blocks:
        name = _cut(heading, FIELD_NAME_LIMIT)
        chunk: list[str] = []
        size = 0
        pending: list[str] = []
        for line in lines:
            line = _cut(line, FIELD_VALUE_LIMIT)
            if chunk and size + 1 + len(line) > FIELD_VALUE_LIMIT:
                pending.append("\n".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line) + (1 if size else 0)
        if chunk:
            pending.append("\n".join(chunk))
        for value in pending:
            cost = len(name) + len(value)
            if len(fields) >= FIELD_COUNT_LIMIT - 1 or cost > budget:
                truncated = True
                break
            fields.append(EmbedField(name, value))
            budget -= cost
        if truncated:
            break
    if truncated:
        fields.append(EmbedField("\u200b", more))
    return RecapEmbed(
        title=title,
        description=description,
        fields=tuple(fields),
        footer=footer,
        truncated=truncated,
    )
