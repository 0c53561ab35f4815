"""Charts as PNG files, drawn with matplotlib's Agg backend (no display needed).

Import this module lazily: matplotlib takes a while to load and only charts need it. Charts
use matplotlib's object API (no pyplot, no global state), an opaque light background that reads
the same in light and dark clients, the Okabe–Ito colours (safe for colour-blind readers), and
every value written as text next to its bar or point, so no meaning rests on colour alone.

Names carry emoji and symbols (🌻 Léa, Ana ✨) that DejaVu Sans lacks: text is drawn with a list
of fonts, and matplotlib takes each character from the first one that has it. The fallbacks
are Debian packages (fonts-symbola for emoji, in monochrome, as matplotlib cannot draw colour
emoji fonts); one that is not installed is skipped, and its characters stay boxes.
"""

from __future__ import annotations

import io
import logging
import textwrap
import threading
from pathlib import Path

from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bot.recaps.figures import BarFigure, SeriesFigure

BLUE = "#0072B2"  # Okabe–Ito blue
VERMILLION = "#D55E00"  # Okabe–Ito vermillion
GREY = "#BBBBBB"
INK = "#222222"
PAPER = "#FFFFFF"
EDGE = "#DDDDDD"
WIDTH_IN = 8.0
DPI = 100
MAX_LABEL = 24

_lock = threading.Lock()  # matplotlib is not meant to draw from two threads at once
# Fallback fonts after DejaVu Sans: family name and where Debian installs it.
FALLBACK_FONTS = (
    ("Symbola", "/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf"),  # fonts-symbola
)
_families: list[str] = []


def _fonts() -> list[str]:
    """The font families of every chart's text: DejaVu Sans, then the fallbacks that are
    installed (registered with matplotlib once, under the lock)."""
    if not _families:
        _families.append("DejaVu Sans")
        for family, path in FALLBACK_FONTS:
            if Path(path).is_file():
                font_manager.fontManager.addfont(path)
                _families.append(family)
                # Symbola has no bold: matplotlib would warn at every bold title that it uses
                # the regular weight for the characters only it has (as it should).
                logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    return list(_families)


TITLE_CHARACTERS = 60  # a title longer than this goes on several lines, never cut


def _wrapped(title: str) -> str:
    return "\n".join(textwrap.wrap(title, TITLE_CHARACTERS)) or title


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format="png",
        dpi=DPI,
        facecolor=PAPER,
        edgecolor=EDGE,
        metadata={"Software": None},
        pil_kwargs={"compress_level": 2},  # a third of the default level's time; a bit larger
    )
    return buffer.getvalue()


def _bars(axes: object, chart: BarFigure) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    bars = chart.bars
    positions = list(range(len(bars)))[::-1]  # the largest at the top
    top = max([b.value for b in bars] + [chart.marker or 0.0, 1e-9])
    axes.barh(
        positions,
        [b.value for b in bars],
        color=[GREY if b.muted else BLUE for b in bars],
        hatch=None,
        edgecolor=INK,
        linewidth=0.6,
        height=0.62,
    )
    for patch, bar in zip(axes.patches, bars, strict=False):
        if bar.muted:
            patch.set_hatch("//")
    axes.set_yticks(positions, [_label(b.label) for b in bars], color=INK, fontsize=10)
    for y, bar in zip(positions, bars, strict=True):
        axes.text(
            bar.value + top * 0.015,
            y,
            bar.text,
            va="center",
            ha="left",
            color=INK,
            fontsize=9,
            bbox={"facecolor": PAPER, "edgecolor": "none", "pad": 1.5},
            zorder=3,
        )
    axes.set_xlim(0, top * 1.45)  # room for the value after the longest bar
    if chart.marker is not None:
        axes.axvline(chart.marker, color=VERMILLION, linestyle="--", linewidth=1.8)
        axes.text(
            chart.marker,
            len(bars) - 0.35,
            " " + chart.marker_label,
            color=VERMILLION,
            fontsize=9,
            va="bottom",
            ha="left",
            fontweight="bold",
        )
    axes.set_ylim(-0.6, len(bars) - 0.1 + 0.5)
    axis = chart.axis
    if chart.legend_muted and any(b.muted for b in bars):
        axis += "  ·  " + chart.legend_muted
    axes.set_xlabel(axis, color=INK, fontsize=9)
    if chart.minutes:
        axes.xaxis.set_major_formatter(FuncFormatter(_minutes))
    axes.set_title(_wrapped(chart.title), color=INK, fontsize=12, loc="left", pad=14)
    _frame(axes)


def _comma(value: float, _position: object) -> str:
    return f"{value:.1f}".replace(".", ",")


def _minutes(value: float, _position: object) -> str:
    """Minutes as `m:ss` on the axis (1.5 → 1:30), the same in every language."""
    seconds = round(value * 60)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _frame(axes: object) -> None:
    from matplotlib.axes import Axes

    assert isinstance(axes, Axes)
    axes.set_facecolor(PAPER)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(INK)
    axes.tick_params(colors=INK, labelsize=9)


def bar_chart(chart: BarFigure) -> bytes:
    """Horizontal bars, the largest at the top, each with its value; a dashed reference line.

    The margins are computed from the longest name rather than by matplotlib's layout engine,
    which would measure every text twice (half the drawing time)."""
    height = min(30.0, max(2.8, 1.4 + 0.42 * len(chart.bars)))
    longest = max((len(_label(b.label)) for b in chart.bars), default=4)
    left = min(0.4, (longest * 0.075 + 0.25) / WIDTH_IN)
    with _lock, rc_context({"font.family": _fonts()}):
        figure = Figure(figsize=(WIDTH_IN, height), facecolor=PAPER)
        figure.subplots_adjust(left=left, right=0.97, top=1 - 0.55 / height, bottom=0.55 / height)
        _bars(figure.add_subplot(), chart)
        return _png(figure)


def report_chart(shares: BarFigure, series: SeriesFigure) -> bytes:
    """The cycle report: each person's share of the cycle's speaking time, and the equity
    figure séance by séance."""
    height = min(34.0, max(5.5, 4.2 + 0.42 * len(shares.bars)))
    with _lock, rc_context({"font.family": _fonts()}):
        figure = Figure(figsize=(WIDTH_IN, height), facecolor=PAPER, layout="constrained")
        top, bottom = figure.subplots(
            2, 1, height_ratios=[max(2.0, 0.42 * len(shares.bars) + 1), 2.6]
        )
        _bars(top, shares)
        xs = list(range(len(series.points)))
        known = [(x, p) for x, p in zip(xs, series.points, strict=True) if p.value is not None]
        bottom.plot(
            [x for x, _ in known],
            [p.value for _, p in known],
            color=BLUE,
            marker="o",
            markersize=7,
            linewidth=2,
        )
        for x, p in known:
            bottom.annotate(
                p.text,
                (x, p.value or 0.0),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                color=INK,
                fontsize=9,
            )
        bottom.set_xticks(xs, [p.label for p in series.points])
        bottom.set_xlim(-0.5, max(len(xs) - 0.5, 0.5))
        bottom.set_ylim(0, series.top * 1.12)
        bottom.set_ylabel(series.axis, color=INK, fontsize=9)
        if series.decimal_comma:
            bottom.yaxis.set_major_formatter(FuncFormatter(_comma))
        bottom.set_title(_wrapped(series.title), color=INK, fontsize=12, loc="left")
        if series.note:
            bottom.set_xlabel(series.note, color=INK, fontsize=8)
        bottom.grid(axis="y", color=EDGE, linewidth=0.6)
        _frame(bottom)
        return _png(figure)
