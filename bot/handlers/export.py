"""/export: the circle's data as a file, for the facilitator who asks."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.commands.context import Context
from bot.effects import FilePost
from bot.export import circle_data


def slug(name: str) -> str:
    """A file name from a circle name: `Dirigeant·es ESS` → `dirigeant-es-ess`."""
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "cercle"


async def export(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    fmt: str = args.get("format") or "json"
    seances = await ctx.uow.seances.for_circle(circle.id)
    if fmt == "ics":
        from bot.ical import circle_calendar

        content = circle_calendar(circle, seances, ctx.protocols, ctx.tr, now=ctx.now)
        name, media = f"{slug(circle.name)}.ics", "text/calendar"
    else:
        items = await ctx.uow.items.for_circle(circle.id)
        data = circle_data(circle, seances, items)
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
        )
    )
