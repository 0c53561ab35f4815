"""Posting a séance's recap: every layout from one model, the chart drawn after commit.

With the circle's approval setting, a closing séance's recap goes to the facilitators alone as
a draft; `/recap publier` posts it in the channel. A recap only ever goes to its own circle's
channel (or, as a draft, to that circle's facilitators).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bot.commands.context import Context
from bot.domain.circle import Circle
from bot.domain.refs import UserRef
from bot.domain.seance import Seance, SeanceStatus
from bot.effects import ChartImage, Effect, RecapPost
from bot.ports import Translator
from bot.recaps.drawing import Drawing
from bot.recaps.embed import embed_of
from bot.recaps.figures import Bar, BarFigure
from bot.recaps.html import html_of
from bot.recaps.model import (
    Recap,
    build_recap,
    chart_alt,
    markdown_of,
    recap_text,
    speaker_name,
    turns_text,
)
from bot.views.wording import person_name, slug


def recap_filename(circle: Circle, number: int) -> str:
    return f"recap-{slug(circle.name)}-{number}"


async def recap_of(ctx: Context, seance: Seance) -> Recap:
    circle = ctx.require_circle()
    items = await ctx.uow.items.for_seance(seance.id)
    planned = await ctx.uow.seances.summaries(circle.id, (SeanceStatus.PLANNED,))
    held = (SeanceStatus.PLANNED, SeanceStatus.OPEN, SeanceStatus.CLOSED)
    answers = await ctx.uow.answers.for_seance(seance.id)
    return build_recap(
        circle,
        seance,
        items,
        planned,
        names=lambda u: person_name(ctx.tr, ctx.lang, circle, u),
        total=await ctx.uow.seances.count(circle.id, held),
        answers=answers,
    )


def speaking_figure(recap: Recap, tr: Translator, lang: str) -> BarFigure | None:
    """Speaking time per person, ordered, with the fair share; None when nobody spoke."""
    if not recap.spoken:
        return None
    bars = tuple(
        Bar(
            label=speaker_name(tr, lang, s),
            value=s.spoken.total_seconds() / 60,
            text=f"{tr.duration_text(lang, s.spoken)} · {turns_text(tr, lang, s.turns, s.spoken)}",
            muted=s.facilitator,
        )
        for s in recap.speakers
    )
    share = recap.fair_share
    return BarFigure(
        title=tr.text(lang, "chart.title", circle=recap.circle_name, number=recap.number),
        axis=tr.text(lang, "chart.minutes"),
        bars=bars,
        marker=share.total_seconds() / 60 if share is not None else None,
        marker_label=tr.text(
            lang, "chart.fair_share", share=tr.duration_text(lang, share) if share else ""
        ),
        legend_muted=tr.text(lang, "chart.legend_facilitators"),
        minutes=True,
    )


def _draw_bars(figure: BarFigure) -> bytes:
    from bot.recaps.chart import bar_chart  # matplotlib loads only when a chart is drawn

    return bar_chart(figure)


def post_recap(
    ctx: Context, seance: Seance, recap: Recap, *, to: Iterable[UserRef] | None = None
) -> None:
    """Add the recap to the context's effects: in the channel, or privately to each of `to`."""
    circle = ctx.require_circle()
    tr, lang = ctx.tr, ctx.lang
    text = recap_text(recap, tr, lang, ctx.tz)
    base = recap_filename(circle, recap.number)
    post = RecapPost(
        channel=circle.channel,
        seance_id=seance.id,
        markdown=markdown_of(text),
        html=html_of(text),
        embed=embed_of(text, tr.text(lang, "recap.more")),
        number=recap.number,
        filename=base,
        lang=lang,
    )
    posts = [post] if to is None else [replace(post, to=u, private=True) for u in to]
    figure = speaking_figure(recap, tr, lang)
    if figure is None:
        ctx.effects.extend(posts)
        return
    chart_name = base + ".png"
    alt = chart_alt(recap, tr, lang)

    def attach(effect: Effect, png: bytes | None) -> Effect:
        if png is None or not isinstance(effect, RecapPost):
            return effect
        embed = effect.embed
        return replace(
            effect,
            chart=ChartImage(png, alt, chart_name),
            embed=replace(embed, image=f"attachment://{chart_name}") if embed else None,
        )

    ctx.draw(Drawing(draw=lambda: _draw_bars(figure), attach=attach), *posts)


async def publish(ctx: Context, seance: Seance) -> None:
    """Post the séance's recap in the channel and remember it is published."""
    seance.recap_published_at = ctx.now
    post_recap(ctx, seance, await recap_of(ctx, seance))


async def draft_for_facilitators(ctx: Context, seance: Seance) -> None:
    """Show the recap, as a draft, to each facilitator of the circle, privately."""
    circle = ctx.require_circle()
    people = [m.user for m in circle.facilitators()]
    if ctx.author in circle.members and ctx.author not in people:
        people.append(ctx.author)
    post_recap(ctx, seance, await recap_of(ctx, seance), to=people)
