"""Escaping people's words for Discord's Markdown, where the core itself writes Markdown.

The recap embed puts names, notes and actions next to formatting of its own (a bold banner,
bullets). What people typed must read as typed: `**` in a name does not turn the rest bold, a
note `[site officiel](https://…)` does not become a disguised link, a line `# titre` does not
become a heading. A backslash before punctuation is always shown as that punctuation alone, so
escaping a little more than needed never shows.
"""

from __future__ import annotations

import re

_URL = re.compile(r"https?://[^\s<>()\[\]]+")
_INLINE = re.compile(r"([\\*_~`|\[\]])")
_LINE_START = re.compile(r"^(\s*)(?:([>#\-+])|(\d+)\.)", re.MULTILINE)


def _line_start(match: re.Match[str]) -> str:
    indent, mark, number = match.groups()
    return f"{indent}\\{mark}" if mark else f"{indent}{number}\\."


def escape_markdown(text: str) -> str:
    """`text` with Markdown's inline marks and line-start marks escaped; addresses (which
    Discord shows as links anyway) are left whole."""
    pieces: list[str] = []
    last = 0
    for url in _URL.finditer(text):
        pieces.append(_INLINE.sub(r"\\\1", text[last : url.start()]))
        pieces.append(url.group())
        last = url.end()
    pieces.append(_INLINE.sub(r"\\\1", text[last:]))
    return _LINE_START.sub(_line_start, "".join(pieces))
