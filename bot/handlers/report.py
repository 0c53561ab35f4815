"""`/bilan`: the cycle report, for the facilitator who asks, with its chart."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.context import Context
from bot.domain.seance import SeanceTrail
from bot.effects import Effect, FilePost
from bot.recaps.drawing import Drawing
from bot.recaps.figures import BarFigure, SeriesFigure
from bot.recaps.report import (
    alert_text,
    build_report,
    drift_alerts,
    render_report,
    report_alt,
    report_figures,
)
from bot.views.wording import person_name, slug


def _draw(shares: BarFigure, series: SeriesFigure) -> bytes:
    from bot.recaps.chart import report_chart  # matplotlib loads only when a chart is drawn

    return report_chart(shares, series)


async def bilan(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seances = await ctx.uow.seances.for_circle(circle.id)
    items = await ctx.uow.items.for_circle(circle.id)
    today = datetime.fromtimestamp(ctx.now.timestamp(), ZoneInfo(ctx.tz)).date()
    report = build_report(
        circle, seances, items, today, lambda u: person_name(ctx.tr, ctx.lang, circle, u)
    )
    ctx.tell_text(render_report(report, ctx.tr, ctx.lang), confidential=True)
    if not report.equity or not any(p.spoken for p in report.equity):
        return
    shares, series = report_figures(report, ctx.tr, ctx.lang)
    alt = report_alt(report, ctx.tr, ctx.lang)
    chart = FilePost(
        ctx.channel,
        f"bilan-{slug(circle.name)}.png",
        "image/png",
        b"",
        caption=alt,
        to=ctx.author,
        confidential=True,
    )

    def attach(effect: Effect, png: bytes | None) -> Effect | None:
        if png is None or not isinstance(effect, FilePost):
            return None
        return FilePost(
            effect.channel,
            effect.filename,
            effect.media_type,
            png,
            caption=effect.caption,
            to=effect.to,
            private=effect.private,
            confidential=effect.confidential,
        )

    ctx.draw(Drawing(draw=lambda: _draw(shares, series), attach=attach), chart)


async def note_drift(ctx: Context, trails: list[SeanceTrail]) -> None:
    """After a séance: a confidential note to each facilitator about anyone drifting away."""
    circle = ctx.require_circle()
    alerts = drift_alerts(circle, trails, lambda u: person_name(ctx.tr, ctx.lang, circle, u))
    if not alerts:
        return
    lines = [ctx.t("report.note_header")]
    lines += ["- " + alert_text(ctx.tr, ctx.lang, a) for a in alerts]
    lines.append(ctx.t("report.note_footer"))
    for member in circle.facilitators():
        ctx.tell_to(member.user, "\n".join(lines))
