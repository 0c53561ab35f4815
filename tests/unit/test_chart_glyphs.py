"""Names with emoji and symbols are drawn with real glyphs on charts, not boxes.

matplotlib warns ("Glyph … missing from font(s)") for each character no font has; the test
suite turns warnings into errors, so a name drawn as boxes fails here."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from bot.recaps import chart
from bot.recaps.figures import Bar, BarFigure

NAMES = ("🌻 Léa", "Ana ✨", "Zoé 🎉🙂", "Ömer ☕")


def test_emoji_in_names_have_glyphs() -> None:
    [(_, symbola)] = chart.FALLBACK_FONTS
    if not Path(symbola).is_file():
        pytest.fail("fonts-symbola is missing: python3 scripts/fonts.py install")
    figure = BarFigure(
        "Temps de parole 🌻",
        "minutes",
        tuple(Bar(name, i + 1, f"{i + 1} min") for i, name in enumerate(NAMES)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = chart.bar_chart(figure)
    assert png.startswith(b"\x89PNG")
