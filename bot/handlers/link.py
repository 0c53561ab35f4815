"""`/lien`: a member's private link to their circle's page and calendar, and its revocation.

The link is answered to the asker alone, as confidential: it opens the page as them. `/lien
revoquer` turns off every link they were given (the member's link generation moves on);
`/lien duree <jours>` sets how long new links work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.commands.context import Context
from bot.errors import Refusal
from bot.pages.links import LinkIssuer, grant_for

MAX_LINK_DAYS = 365


def _issuer(ctx: Context) -> LinkIssuer:
    if ctx.links is None:
        raise Refusal("link.disabled")
    return ctx.links


async def link(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    issuer = _issuer(ctx)
    member = circle.member(ctx.author)
    if member is None:
        raise Refusal("circle.roster_closed")
    grant = grant_for(circle, member, ctx.now)
    token = issuer.signer.sign(grant)
    until = ctx.tr.day_text(ctx.lang, datetime.fromtimestamp(grant.expires, UTC).date())
    text = ctx.t(
        "link.given",
        circle=circle.name,
        url=issuer.page_url(token),
        webcal=issuer.webcal_url(token),
        ics=issuer.calendar_url(token),
        until=until,
    )
    if issuer.served_elsewhere:
        text += "\n" + ctx.t("link.start_web")
    ctx.tell_text(text, confidential=True)


async def revoke(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    member = circle.member(ctx.author)
    if member is None:
        raise Refusal("circle.roster_closed")
    member.link_generation += 1
    ctx.tell("link.revoked")


async def lifetime(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    days: int = args["days"]
    if not 1 <= days <= MAX_LINK_DAYS:
        raise Refusal("link.bad_days", limit=MAX_LINK_DAYS)
    circle.settings.link_days = days
    ctx.say("link.days_set", days=days)
