"""Messages kept up to date in place between séances: the RSVP question and the follow-up list.

The day before a séance, the question "will you be there?" is one message that shows the
answers so far and is edited as they come in; a week after a séance, the list of open actions is
one message edited as their owners say where they stand. Each is a `LiveView` effect: posted
once, then edited, through the outbox like every message (an edit lost in an outage is sent
again; a newer one makes an older one needless). The text is always rebuilt from the database,
never patched, so whatever version reaches the platform last tells the truth.

Who sees what. Everyone in the channel sees the counts; in a small circle (`NAMES_UP_TO`
members) the message also names who comes and who may come, as people expect from a circle
where everyone knows everyone. Who said no is never named in the channel: it is an excuse,
and an excuse is for the facilitators, who get the full tally (names per answer, and who has
not answered) privately with the reminder and with `/presence`.

Native answers: the RSVP message offers the three answers (`answers`): buttons on Discord,
reactions 👍 / 👎 / 🤔 on Matrix, handed to the core as `/presence` commands that only members
may give (`CommandEvent.members_only`). Removing a Matrix reaction withdraws the answer it gave,
if it is still that person's answer (`withdraw`); otherwise it changes nothing.
"""

from __future__ import annotations

from bot.commands.context import Context
from bot.domain.items import ItemKind
from bot.domain.live import LiveKind, LiveMessage
from bot.domain.rsvp import RSVP_ORDER, RsvpAnswer
from bot.domain.seance import AttendanceStatus, Seance, SeanceStatus
from bot.effects import LiveView
from bot.handlers import followup  # followup imports this module too: used at run time only

NAMES_UP_TO = 12  # members: up to this many, the RSVP message names who comes
RSVP_ANSWERS = tuple(a.value for a in RSVP_ORDER)
LABELS = {
    RsvpAnswer.YES: "rsvp.label.yes",
    RsvpAnswer.NO: "rsvp.label.no",
    RsvpAnswer.MAYBE: "rsvp.label.maybe",
}
HOW_KEYS = {"discord": "live.rsvp.how_discord", "matrix": "live.rsvp.how_matrix"}


# -- the RSVP question --------------------------------------------------------------------------


async def answers_of(ctx: Context, seance: Seance) -> dict[RsvpAnswer, list[str]]:
    """Who answered what (an excuse given with /excuse counts as no), names sorted."""
    circle = ctx.require_circle()
    given = {r.user: r.answer for r in await ctx.uow.rsvps.for_seance(seance.id)}
    for user, status in seance.attendance.items():
        if status is AttendanceStatus.EXCUSED:
            given[user] = RsvpAnswer.NO  # excused with /excuse, even after a "yes"
    found: dict[RsvpAnswer, list[str]] = {kind: [] for kind in RSVP_ORDER}
    for user, answer in given.items():
        found[answer.counted_as].append(circle.name_of(user))  # "Interested" is a yes
    return {kind: sorted(names) for kind, names in found.items()}


async def rsvp_text(ctx: Context, seance: Seance) -> str:
    circle = ctx.require_circle()
    when = ctx.tr.datetime_text(ctx.lang, ctx.tz, seance.planned_at) if seance.planned_at else "—"
    lines = [ctx.t("live.rsvp.question", number=seance.number, date=when)]
    if seance.status is SeanceStatus.PLANNED:
        lines.append(ctx.t(HOW_KEYS.get(ctx.channel.platform, "live.rsvp.how")))
    else:
        lines.append(ctx.t("live.rsvp.closed"))
    named = len(circle.roster()) <= NAMES_UP_TO
    parts = []
    for kind, names in (await answers_of(ctx, seance)).items():
        label = ctx.t(LABELS[kind])
        if named and names and kind is not RsvpAnswer.NO:
            parts.append(
                ctx.t("live.rsvp.part_names", label=label, count=len(names), names=", ".join(names))
            )
        else:
            parts.append(ctx.t("live.rsvp.part", label=label, count=len(names)))
    lines.append(ctx.t("live.rsvp.answers", parts=" · ".join(parts)))
    return "\n".join(lines)


async def _rsvp_view(ctx: Context, seance: Seance, live: LiveMessage) -> LiveView:
    planned = seance.status is SeanceStatus.PLANNED
    return LiveView(
        ctx.channel,
        LiveKind.RSVP.value,
        seance.id,
        seance.number,
        live.message_id,
        await rsvp_text(ctx, seance),
        lang=ctx.lang,
        answers=RSVP_ANSWERS if planned else (),
        closed=not planned,
    )


async def post_rsvp(ctx: Context, seance: Seance) -> None:
    """The RSVP question of the day before, as a live message (posted once per séance)."""
    circle = ctx.require_circle()
    live = await ctx.uow.live.get(seance.id, LiveKind.RSVP)
    if live is None:
        live = LiveMessage(circle.id, seance.id, LiveKind.RSVP, ctx.now)
        await ctx.uow.live.add(live)
    ctx.effects.append(await _rsvp_view(ctx, seance, live))


async def refresh_rsvp(ctx: Context, seance: Seance) -> None:
    """The answers changed: the RSVP message, if there is one yet, shows them."""
    live = await ctx.uow.live.get(seance.id, LiveKind.RSVP)
    if live is not None:
        ctx.effects.append(await _rsvp_view(ctx, seance, live))


async def withdraw(ctx: Context, given_by: str) -> bool:
    """The platform event `given_by` (a reaction) was taken back: the answer it gave goes, if it
    is still the person's answer (a "no" takes its excuse with it). Whether anything changed."""
    circle = ctx.require_circle()
    found = next(
        (r for r in await ctx.uow.rsvps.for_circle(circle.id) if r.event_id == given_by), None
    )
    if found is None or found.user != ctx.author:
        return False
    seance = await ctx.uow.seances.get(found.seance_id)
    if seance is None or seance.status is not SeanceStatus.PLANNED:
        return False
    await ctx.uow.rsvps.delete(seance.id, found.user)
    if found.answer is RsvpAnswer.NO and seance.attendance.get(found.user) is (
        AttendanceStatus.EXCUSED
    ):
        del seance.attendance[found.user]
        seance.excuse_reasons.pop(found.user, None)
    await refresh_rsvp(ctx, seance)
    return True


# -- the follow-up list -------------------------------------------------------------------------


async def _follow_up_view(ctx: Context, seance: Seance, live: LiveMessage) -> LiveView | None:
    circle = ctx.require_circle()
    items = await ctx.uow.items.for_circle(circle.id)
    still = [i for i in items if i.is_open_action]
    done = [
        i
        for i in items
        if i.kind is ItemKind.ACTION and i.done_at is not None and i.done_at >= live.posted_at
    ]
    if not still and not done:
        return None
    if still:
        count = ctx.tr.plural(ctx.lang, "report.open", len(still))
        lines = [ctx.t("prompt.follow_up", number=seance.number, count=count)]
    else:
        lines = [ctx.t("live.follow_up.all_done", number=seance.number)]
    lines += [followup.action_line(ctx, i) for i in still]
    for item in sorted(done, key=lambda i: i.number):
        owner = ctx.name(item.owner) if item.owner else "?"
        lines.append(f"- #{item.number} {item.text} — {owner} — " + ctx.t("live.follow_up.done"))
    owners = tuple(dict.fromkeys(i.owner for i in still if i.owner in circle.members))
    return LiveView(
        ctx.channel,
        LiveKind.FOLLOW_UP.value,
        seance.id,
        seance.number,
        live.message_id,
        "\n".join(lines),
        lang=ctx.lang,
        mentions=tuple(o for o in owners if o is not None),
    )


async def post_follow_up(ctx: Context, seance: Seance) -> bool:
    """The follow-up list after a séance, as a live message; False when no action is open."""
    circle = ctx.require_circle()
    if not await ctx.uow.items.open_actions(circle.id):
        return False
    live = await ctx.uow.live.get(seance.id, LiveKind.FOLLOW_UP)
    if live is None:
        live = LiveMessage(circle.id, seance.id, LiveKind.FOLLOW_UP, ctx.now)
        await ctx.uow.live.add(live)
    view = await _follow_up_view(ctx, seance, live)
    if view is not None:
        ctx.effects.append(view)
    return True


async def refresh_follow_up(ctx: Context) -> None:
    """An action's state changed: the latest follow-up list, if any, shows it."""
    circle = ctx.require_circle()
    live = await ctx.uow.live.latest(circle.id, LiveKind.FOLLOW_UP)
    if live is None:
        return
    seance = await ctx.uow.seances.get(live.seance_id)
    if seance is None:
        return
    view = await _follow_up_view(ctx, seance, live)
    if view is not None:
        ctx.effects.append(view)
