"""Steering a séance: open it, move through phases, pause, close with a recap, cancel."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from bot.commands.context import Context
from bot.commands.parser import fold, unknown_word
from bot.domain.circle import Circle, RoundOrder
from bot.domain.protocol import PhaseMode, PhaseSpec
from bot.domain.refs import UserRef
from bot.domain.seance import Seance, SeanceStatus
from bot.domain.topics import in_topics
from bot.effects import Reply
from bot.errors import Refusal
from bot.handlers import leancoffee
from bot.handlers.cases import HOLDER_LISTENS
from bot.handlers.followup import look_back
from bot.handlers.lookup import find_seance, renumber_seances
from bot.handlers.prepa import reveal as reveal_answers
from bot.handlers.report import note_drift
from bot.handlers.turns import announce
from bot.recaps.posting import draft_for_facilitators, publish
from bot.recaps.report import DRIFT_WINDOW
from bot.timing.schedule import sync_prompts
from bot.views.wording import phase_title

STILL_OPENABLE = timedelta(hours=12)  # how long after its planned time a séance may be opened
MAX_EDIT = 500
OPENS_EARLY = timedelta(hours=3)  # `/seance` opens a planned séance from this long before
OPENS_LATE = timedelta(hours=6)  # ... to this long after its planned time
EXTRA_WORDS = frozenset({"extra", "supplementaire", "imprevue", "adhoc", "ad-hoc", "unplanned"})

ADHOC_PHASES = {
    "suivante": None,
    "tour": PhaseSpec(key="tour", mode=PhaseMode.ROUND),
    "libre": PhaseSpec(key="libre", mode=PhaseMode.QUEUE),
    "unique": PhaseSpec(key="parole", mode=PhaseMode.SINGLE),
}


def next_protocol_phase(ctx: Context, seance: Seance) -> PhaseSpec | None:
    protocol = ctx.protocols.get(seance.protocol)
    if protocol is None or seance.next_protocol_phase >= len(protocol.phases):
        return None
    return protocol.phases[seance.next_protocol_phase]


def round_order(circle: Circle) -> list[UserRef]:
    """Who speaks when in a round, by the circle's choice: as they arrived in the circle, the
    facilitation last, or a new random order each round."""
    people = [m.user for m in circle.roster()]
    setting = circle.settings.round_order
    if setting is RoundOrder.FACILITATORS_LAST:
        last = {m.user for m in circle.facilitators()}
        return [u for u in people if u not in last] + [u for u in people if u in last]
    if setting is RoundOrder.SHUFFLED:
        random.SystemRandom().shuffle(people)
    return people


def start_phase(
    ctx: Context,
    seance: Seance,
    spec: PhaseSpec,
    *,
    from_protocol: bool,
    speaker: UserRef | None = None,
    opener: UserRef | None = None,
    note: str | None = None,
) -> None:
    """Start `spec` and say so; `opener`, if present, gets the open floor first (a Lean
    Coffee topic's proposer), and `note` is said right after the phase is announced."""
    circle = ctx.require_circle()
    lowered = seance.lower_hands() if seance.is_open and not seance.is_paused else []
    leancoffee.end_vote(ctx, seance)
    if opener is not None and opener in seance.present():
        lowered = [u for u in lowered if u != opener]
        seance.raise_hand(opener)
    holder = seance.case_owner
    holder_listens = spec.key in HOLDER_LISTENS and holder is not None
    if holder_listens and holder is not None and seance.withdraw_hand(holder):
        lowered = [u for u in lowered if u != holder]
        text = ctx.t("cases.holder_listens")
        ctx.effects.append(Reply(ctx.channel, text, to=holder, private=True))
    running = seance.phase
    # a round stopped before everyone had the floor: said, so nobody is skipped unawares
    unheard = (
        list(seance.round_pending)
        if running is not None and running.mode is PhaseMode.ROUND and running.ended_at is None
        else []
    )
    change = seance.start_phase(
        spec,
        ctx.now,
        circle.settings.queue_order,
        round_order(circle),
        from_protocol=from_protocol,
        speaker=speaker,
    )
    phase = seance.phase
    assert phase is not None
    title = phase_title(ctx.tr, ctx.lang, spec.key, spec.title)
    how = ctx.t(f"mode.{spec.mode.value}.how")
    if unheard and running is not None:
        ctx.say(
            "phase.round_cut",
            title=phase_title(ctx.tr, ctx.lang, running.key, running.title),
            names=", ".join(ctx.name(u) for u in unheard),
            mentions=tuple(unheard),
        )
    if spec.duration:
        duration = ctx.tr.span_text(ctx.lang, spec.duration)
        ctx.say("phase.started_timed", title=title, how=how, duration=duration)
    else:
        ctx.say("phase.started", title=title, how=how)
    if note:
        ctx.say_text(note, mentions=(opener,) if opener else ())
    if spec.mode is PhaseMode.SINGLE and phase.speaker is None:
        ctx.say("phase.single_needs_speaker")
    if spec.mode is PhaseMode.ROUND and not seance.round_order:
        ctx.say("round.waiting_for_people")
    if lowered:
        names = ", ".join(ctx.name(u) for u in lowered)
        ctx.say("phase.hands_lowered", names=names, mentions=tuple(lowered))
    announce(ctx, change)


async def enter_phase(
    ctx: Context,
    seance: Seance,
    spec: PhaseSpec,
    *,
    from_protocol: bool,
    speaker: UserRef | None = None,
) -> None:
    """Start `spec`; a Lean Coffee's topics phase starts with its first topic (or, with none
    proposed yet, as an open floor that waits for one)."""
    if spec.topics:
        topic = await leancoffee.take_next(ctx, seance)
        if topic is not None:
            _start_topic(ctx, seance, topic, from_protocol=from_protocol)
            return
        note = ctx.t("topic.none_yet")
        start_phase(ctx, seance, spec, from_protocol=from_protocol, speaker=speaker, note=note)
        return
    start_phase(ctx, seance, spec, from_protocol=from_protocol, speaker=speaker)


async def next_topic(ctx: Context, seance: Seance) -> bool:
    """In a Lean Coffee's topics, move to the next topic; False when there is none left (or
    the séance is not in its topics)."""
    if not in_topics(seance.phase):
        return False
    topic = await leancoffee.take_next(ctx, seance)
    if topic is None:
        return False
    _start_topic(ctx, seance, topic, from_protocol=False)
    return True


def _start_topic(
    ctx: Context, seance: Seance, topic: leancoffee.Topic, *, from_protocol: bool
) -> None:
    holder = topic.case.holder
    note = ctx.t(
        "topic.introduced",
        name=ctx.name(holder),
        votes=ctx.tr.plural(ctx.lang, "cases.votes", topic.case.total),
    )
    start_phase(ctx, seance, topic.spec, from_protocol=from_protocol, opener=holder, note=note)


async def open_seance(ctx: Context, args: dict[str, Any]) -> None:
    """`/seance`: the séance planned for now; `/seance 2` or `/seance 10/12`: that planned one
    anyway; `/seance extra`: an unplanned séance. A séance planned days away is never opened
    instead of the one meant: the answer says which is planned and how to choose."""
    circle = ctx.require_circle()
    which = " ".join(str(args.get("which") or "").split())
    ref = _seance_ref(ctx, which) if which and fold(which) not in EXTRA_WORDS else None
    if ctx.seance is not None and ctx.seance.is_open:
        raise Refusal("seance.already_open", number=ctx.seance.number)
    protocol = ctx.protocols.get(circle.settings.protocol)
    if protocol is None:
        raise Refusal("circle.unknown_protocol", name=circle.settings.protocol)
    planned = await ctx.uow.seances.summaries(circle.id, (SeanceStatus.PLANNED,))
    seance: Seance | None = None
    if ref is not None:
        seance = await find_seance(ctx, ref)
        if seance.status is not SeanceStatus.PLANNED:
            raise Refusal("seance.not_openable", number=seance.number)
    elif not which:
        near = [s for s in planned if s.planned_at is None or _near(s.planned_at, ctx)]
        if near:
            chosen = min(near, key=lambda s: abs((s.planned_at or ctx.now) - ctx.now))
            seance = await ctx.uow.seances.get(chosen.id)
        else:
            coming = [
                s for s in planned if s.planned_at and s.planned_at >= ctx.now - STILL_OPENABLE
            ]
            if coming:
                first = min(coming, key=lambda s: s.planned_at or ctx.now)
                assert first.planned_at is not None
                raise Refusal(
                    "seance.planned_not_now",
                    number=first.number,
                    when=ctx.tr.datetime_text(ctx.lang, ctx.tz, first.planned_at),
                )
    if seance is None:
        seance = Seance(
            id=0, circle_id=circle.id, number=circle.next_seance_number(), protocol=protocol.name
        )
        seance.opened_at = ctx.now  # its place in the calendar, before it is numbered
        await ctx.uow.seances.add(seance)
        ctx.new_seances.add(seance.id)
        await renumber_seances(ctx)
    await open_given(ctx, seance, present=ctx.author)


def _near(planned_at: datetime, ctx: Context) -> bool:
    return planned_at - OPENS_EARLY <= ctx.now <= planned_at + OPENS_LATE


def _seance_ref(ctx: Context, which: str) -> int | str:
    """`2` or a date: what `/seance` was given; anything else is an unknown subcommand."""
    if which.isdigit() and len(which) <= 7:
        return int(which)
    if any(c.isdigit() for c in which) and len(which) <= 12:
        return which
    parent = next((c for c in ctx.commands if c.fr == "seance"), None)
    raise unknown_word(which, parent) if parent else Refusal("args.bad_seance_date", value=which)


async def open_given(ctx: Context, seance: Seance, present: UserRef | None) -> None:
    """Open this séance (planned or just created) and say how it will run."""
    circle = ctx.require_circle()
    used = ctx.protocols.get(seance.protocol) or ctx.protocols.get(circle.settings.protocol)
    if used is None:
        raise Refusal("circle.unknown_protocol", name=seance.protocol)
    seance.protocol = used.name
    seance.open(ctx.now)
    ctx.seance = seance
    if present is not None:
        seance.mark_present(present, circle.settings.queue_order, ctx.now)
    titles = " → ".join(phase_title(ctx.tr, ctx.lang, p.key, p.title) for p in used.phases)
    if len(used.phases) == 1:  # one phase (libre): nothing to steer, the floor opens at once
        ctx.say("seance.opened_one_phase", number=seance.number, circle=circle.name)
        await reveal_answers(ctx, seance)
        await look_back(ctx, seance)  # what the last séance left, before the floor opens
        await enter_phase(ctx, seance, used.phases[0], from_protocol=True)
    else:
        ctx.say("seance.opened", number=seance.number, circle=circle.name, phases=titles)
        await reveal_answers(ctx, seance)
    await sync_prompts(ctx, seance)


async def phase(ctx: Context, args: dict[str, Any]) -> None:
    seance = ctx.require_open_seance()
    which: str = args["which"]
    speaker: UserRef | None = args.get("speaker")
    if which == "suivante":
        if await next_topic(ctx, seance):
            return
        spec = next_protocol_phase(ctx, seance)
        if spec is None:
            raise Refusal("phase.no_more")
        if not seance.phases:  # the first phase: what the last séance left, before the floor
            await look_back(ctx, seance)
        await enter_phase(ctx, seance, spec, from_protocol=True, speaker=speaker)
        return
    spec = ADHOC_PHASES[which]
    assert spec is not None
    if spec.mode is PhaseMode.SINGLE and speaker is None and seance.case_owner is None:
        raise Refusal("phase.single_needs_speaker")
    if speaker is not None:
        _ensure_member(ctx, speaker)
    start_phase(ctx, seance, spec, from_protocol=False, speaker=speaker)


def _ensure_member(ctx: Context, user: UserRef) -> None:
    circle = ctx.require_circle()
    if user not in circle.members:
        raise Refusal("circle.not_a_member", name=ctx.name(user))


async def case_owner(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    user: UserRef = args["member"]
    _ensure_member(ctx, user)
    seance.case_owner = user
    ctx.say("seance.case_owner", name=ctx.name(user), mentions=(user,))
    current = seance.phase
    if current is not None and current.mode is PhaseMode.SINGLE and current.speaker is None:
        current.speaker = user
        announce(ctx, seance.give_floor_if_free(circle.settings.queue_order, ctx.now))


async def pause(ctx: Context, args: dict[str, Any]) -> None:
    seance = ctx.require_open_seance()
    seance.pause(ctx.now)
    ctx.say("seance.paused")


async def resume(ctx: Context, args: dict[str, Any]) -> None:
    circle = ctx.require_circle()
    seance = ctx.require_open_seance()
    seance.resume(ctx.now)
    ctx.say("seance.resumed")
    announce(ctx, seance.give_floor_if_free(circle.settings.queue_order, ctx.now))


async def close(ctx: Context, args: dict[str, Any]) -> None:
    seance = ctx.require_open_seance()
    await close_given(ctx, seance, "seance.closed")


async def close_given(ctx: Context, seance: Seance, key: str, **args: str) -> None:
    """Close the séance, say so with `key`, and post its recap (or, in approval mode, show the
    draft to the facilitators)."""
    circle = ctx.require_circle()
    leancoffee.end_vote(ctx, seance)
    seance.close(ctx.now, [m.user for m in circle.expected()])
    if not seance.present():  # nobody came: not held, and nothing to recap or count
        seance.mark_not_held()
        ctx.say("seance.closed_not_held", number=seance.number)
        await sync_prompts(ctx, seance)
        return
    ctx.say_text(ctx.t(key, number=seance.number, **args))
    await sync_prompts(ctx, seance)
    if circle.settings.recap_approval:
        ctx.say("recap.awaiting_approval", number=seance.number)
        await draft_for_facilitators(ctx, seance)
    else:
        await publish(ctx, seance)
    await note_drift(ctx, await ctx.uow.seances.recent_trails(circle.id, DRIFT_WINDOW))


async def not_held(ctx: Context, args: dict[str, Any]) -> None:
    """`/seance nontenue 3`: a closed séance did not really take place (a test, a mistake)."""
    seance = await find_seance(ctx, args["number"])
    seance.mark_not_held()
    ctx.say("seance.marked_not_held", number=seance.number)
    await sync_prompts(ctx, seance)


async def edit(ctx: Context, args: dict[str, Any]) -> None:
    """`/seance modifier 2 sujet Déléguer`: change a planned séance without cancelling it."""
    seance = await find_seance(ctx, args["number"])
    if seance.status not in (SeanceStatus.PLANNED, SeanceStatus.OPEN):
        raise Refusal("seance.not_editable", number=seance.number)
    field: str = args["field"]
    value = " ".join(str(args.get("value") or "").split())
    if len(value) > MAX_EDIT:
        raise Refusal("item.too_long", limit=MAX_EDIT)
    if field == "case":
        word = value.split()[0] if value else ""
        user = ctx.resolve_user(word) if word and ctx.resolve_user else None
        if word and user is None:
            raise Refusal("args.bad_user", value=word[:60], usage="seance modifier")
        if user is not None:
            _ensure_member(ctx, user)
        seance.case_owner = user
        shown = ctx.name(user) if user else "—"
    elif field == "subject":
        seance.subject = value or None
        shown = value or "—"
    else:
        seance.prep_question = value or None
        shown = value or "—"
        await sync_prompts(ctx, seance)
    labels = {
        "subject": ctx.t("seance.field_subject"),
        "question": ctx.t("seance.field_question"),
        "case": ctx.t("seance.field_case"),
    }
    ctx.say("seance.edited", number=seance.number, field=labels[field], value=shown)


async def cancel(ctx: Context, args: dict[str, Any]) -> None:
    ctx.require_circle()
    number: int | str | None = args.get("number")
    if number is None:
        seance = ctx.require_open_seance()
    else:
        seance = await find_seance(ctx, number)
    number = seance.number
    seance.cancel()
    await renumber_seances(ctx)
    ctx.say("seance.cancelled", number=number)
    await sync_prompts(ctx, seance)
