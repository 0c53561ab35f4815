"""/export: the circle's data as a file, for the facilitator who asks."""

from __future__ import annotations

import json
from typing import Any

from bot.commands.context import Context
from bot.domain.roles import Role
from bot.effects import FilePost
from bot.errors import Refusal
from bot.exports.data import circle_data, recaps_markdown
from bot.views.wording import slug


async def export(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    fmt: str = args.get("format") or "json"
    if fmt != "ics" and ctx.role < Role.FACILITATOR:  # the calendar holds no personal data
        raise Refusal("export.facilitators_only")
    seances = await ctx.uow.seances.for_circle(circle.id)
    if fmt == "ics":
        from bot.exports.ical import circle_calendar

        content = circle_calendar(circle, seances, ctx.protocols, ctx.tr, now=ctx.now)
        name, media = f"{slug(circle.name)}.ics", "text/calendar"
    elif fmt == "md":
        items = await ctx.uow.items.for_circle(circle.id)
        text = recaps_markdown(circle, seances, items, ctx.tr, ctx.lang, ctx.tz)
        content = text.encode("utf-8")
        name, media = f"recaps-{slug(circle.name)}.md", "text/markdown"
    else:
        items = await ctx.uow.items.for_circle(circle.id)
        answers = await ctx.uow.answers.for_circle(circle.id)
        rsvps = await ctx.uow.rsvps.for_circle(circle.id)
        cases = await ctx.uow.cases.for_circle(circle.id)
        vote = await ctx.uow.case_votes.get(circle.id)
        data = circle_data(circle, seances, items, answers, rsvps, cases, vote)
        content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
        name, media = f"{slug(circle.name)}.json", "application/json"
    ctx.effects.append(
        FilePost(
            ctx.channel,
            name,
            media,
            content,
            caption=ctx.t("export.ready", name=name),
            to=ctx.author,
            confidential=fmt != "ics",
        )
    )
