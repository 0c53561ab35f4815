"""Mentions on Matrix: pills placed in the text before it becomes HTML, and `m.mentions`.

A pill used to be made by replacing a person's name inside the finished HTML, so a display name
such as `p` or `strong` replaced part of a tag and garbled the message. Here the names are found
in the plain text (as whole words, each person's first appearance), held by placeholders while
the text is escaped and formatted, and only then turned into links: nothing in the HTML is ever
searched.

Every event that carries someone's words says whom it mentions (`m.mentions`, empty when nobody):
without it, clients fall back to the legacy push rules, where "@room" in a note notifies the
whole room and a display name in a recap highlights that person twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from adapters.matrix.render import inline_html, pill, to_html

_HOLD = "\ue000{}\ue001"  # private-use characters: not in a name, untouched by html.escape
_HELD = re.compile("\ue000(\\d+)\ue001")


def mentions(user_ids: Iterable[str] = ()) -> dict[str, Any]:
    """The `m.mentions` of an event: these people, never the room."""
    return {"user_ids": sorted(set(user_ids))}


def _pilling(people: Mapping[str, str]) -> Callable[[str], str]:
    """An inline renderer that turns each person's first whole-word name into a pill."""
    pending = dict(people)  # user id -> display name, until placed
    placed: list[tuple[str, str]] = []

    def inline(text: str) -> str:
        taken: list[tuple[int, int, str]] = []
        for user_id, name in sorted(pending.items(), key=lambda p: -len(p[1])):
            if not name:
                continue
            pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)")
            for found in pattern.finditer(text):
                start, end = found.span()
                if all(end <= s or start >= e for s, e, _ in taken):
                    taken.append((start, end, user_id))
                    break
        out, last = [], 0
        for start, end, user_id in sorted(taken):
            out.append(text[last:start])
            out.append(_HOLD.format(len(placed)))
            placed.append((user_id, pending.pop(user_id)))
            last = end
        out.append(text[last:])
        rendered = inline_html("".join(out))
        return _HELD.sub(lambda m: pill(*placed[int(m.group(1))]), rendered)

    return inline


def html_with_pills(text: str, people: Mapping[str, str]) -> str:
    """`text` (the core's small Markdown) as HTML, the first mention of each person a pill."""
    return to_html(text, _pilling(people))
