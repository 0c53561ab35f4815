"""The recap as HTML for Matrix (`formatted_body`, `org.matrix.custom.html`).

Only tags Matrix clients are asked to support are used (h2, h3, p, ul, li, blockquote, em,
table); every piece of text is escaped, so what people typed is shown, never interpreted.
"""

from __future__ import annotations

from html import escape

from bot.ports import Translator
from bot.recaps.model import Recap, RecapText, recap_text


def render_html(recap: Recap, tr: Translator, lang: str, tz: str) -> str:
    return html_of(recap_text(recap, tr, lang, tz))


def html_of(text: RecapText) -> str:
    out = [f"<h2>{escape(text.title)}</h2>", f"<p>{escape(text.when)}</p>"]
    if text.banner:
        out.append(f"<blockquote>{escape(text.banner)}</blockquote>")
    for section in text.sections:
        out.append(f"<h3>{escape(section.heading)}</h3>")
        items = "".join(f"<li>{escape(line)}</li>" for line in section.lines)
        out.append(f"<ul>{items}</ul>")
        out.extend(f"<p>{escape(line)}</p>" for line in section.after)
    out.append("<p>" + "<br>".join(escape(line) for line in text.closing) + "</p>")
    out.append(f"<p><em>{escape(text.footer)}</em></p>")
    return "\n".join(out)
