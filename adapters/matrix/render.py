"""The core's text (a small Markdown subset) as Matrix HTML, with mentions as pills."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def inline_html(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = _CODE.sub(r"<code>\1</code>", escaped)
    return _BOLD.sub(r"<strong>\1</strong>", escaped)


def to_html(markdown: str, inline: Callable[[str], str] = inline_html) -> str:
    """Headings (`##`, `###`), bullet lists (`- `), paragraphs and line breaks; `inline`
    renders the text of each line (escaping it)."""
    out: list[str] = []
    in_list = False
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append("<p>" + "<br>".join(paragraph) + "</p>")
            paragraph.clear()

    for raw in markdown.splitlines():
        line = raw.rstrip()
        if line.startswith("- "):
            flush()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append("<li>" + inline(line[2:]) + "</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if line.startswith("### "):
            flush()
            out.append("<h4>" + inline(line[4:]) + "</h4>")
        elif line.startswith("## "):
            flush()
            out.append("<h3>" + inline(line[3:]) + "</h3>")
        elif not line:
            flush()
        else:
            paragraph.append(inline(line))
    if in_list:
        out.append("</ul>")
    flush()
    return "".join(out)


def pill(user_id: str, name: str) -> str:
    return f'<a href="https://matrix.to/#/{html.escape(user_id)}">{html.escape(name)}</a>'


def with_pills(body_html: str, mentions: dict[str, str]) -> str:
    """Turn the first appearance of each mentioned person's name into a pill."""
    for user_id, name in mentions.items():
        escaped = html.escape(name, quote=False)
        if escaped and escaped in body_html:
            body_html = body_html.replace(escaped, pill(user_id, name), 1)
    return body_html


_PILL = re.compile(r'<a href="https://matrix\.to/#/(@[^"/?]+)[^"]*">([^<]*)</a>')


def pills_in(formatted_body: str) -> dict[str, str]:
    """Mentions a client put in a message: shown name → user id."""
    return {html.unescape(name): html.unescape(uid) for uid, name in _PILL.findall(formatted_body)}


def png_size(png: bytes) -> dict[str, int]:
    """`w` and `h` of a PNG image, from its header (clients size the image before loading)."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n":
        return {}
    return {"w": int.from_bytes(png[16:20], "big"), "h": int.from_bytes(png[20:24], "big")}
