"""What a chart shows, already in words: plain data the drawing module (`bot.recaps.chart`) draws.

The core fills these without importing matplotlib; `bot.recaps.chart` is imported only when a
chart is drawn, after the transaction that produced it has been committed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    """One horizontal bar: a person and a value, with the value as text."""

    label: str
    value: float
    text: str
    muted: bool = False  # drawn grey and hatched (facilitators: not counted in equity)


@dataclass(frozen=True, slots=True)
class BarFigure:
    """Bars from the largest to the smallest, with an optional reference line (the fair share)."""

    title: str
    axis: str
    bars: tuple[Bar, ...]
    marker: float | None = None
    marker_label: str = ""
    legend_muted: str = ""  # what the grey bars are, when there are some
    minutes: bool = False  # values are minutes: the axis reads m:ss


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a series: a label on the x axis, a value (None: no value there)."""

    label: str
    value: float | None
    text: str


@dataclass(frozen=True, slots=True)
class SeriesFigure:
    """A value séance after séance (the Gini coefficient), from 0 to `top`."""

    title: str
    axis: str
    points: tuple[Point, ...]
    top: float = 1.0
    note: str = ""  # how to read it, under the chart
    decimal_comma: bool = False  # French writes 0,4
