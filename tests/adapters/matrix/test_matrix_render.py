"""Matrix HTML from the core's text: pills placed from structure, people's words kept as text."""

from __future__ import annotations

from adapters.matrix.mentions import html_with_pills
from adapters.matrix.render import png_size


def test_a_name_like_a_tag_becomes_a_pill_and_leaves_the_tags_alone() -> None:
    html = html_with_pills("**p** a la parole", {"@p:x": "p"})
    assert html == '<p><strong><a href="https://matrix.to/#/@p:x">p</a></strong> a la parole</p>'


def test_each_person_gets_one_pill_on_a_whole_word() -> None:
    html = html_with_pills("Parole : Al, puis Alice ; Al revient", {"@al:x": "Al", "@a:x": "Alice"})
    assert html.count('href="https://matrix.to/#/@al:x"') == 1
    assert html.count('href="https://matrix.to/#/@a:x"') == 1
    assert "; Al revient" in html


def test_markdown_links_and_html_in_user_text_stay_text() -> None:
    html = html_with_pills("Note : [site officiel](https://evil.example) <b>x</b>", {})
    assert "[site officiel](https://evil.example)" in html
    assert "<a " not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_png_size_reads_the_header() -> None:
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big")
    assert png_size(header + (480).to_bytes(4, "big")) == {"w": 640, "h": 480}
    assert png_size(b"not a png") == {}
