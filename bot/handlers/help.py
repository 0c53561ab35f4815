"""/aide: what one can type here, in the circle's language, with worked examples.

Help is the only manual a newcomer reads, so `/aide <commande> [<sous-commande>]` explains any
command or subcommand with examples, a subcommand's name alone finds it (`/aide cycle`), the
listing shows each person only what they may do, and a channel without a circle says how to
start.
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.commands.parser import fold
from bot.commands.spec import CommandSpec
from bot.domain.roles import Role
from bot.errors import Refusal

Found = tuple[CommandSpec, CommandSpec | None]  # a command, and its parent for a subcommand


def usage_of(ctx: Context, spec: CommandSpec, parent: CommandSpec | None) -> str:
    return spec.usage(ctx.lang, parent.name(ctx.lang) if parent else None)


def _lines(ctx: Context, spec: CommandSpec, parent: CommandSpec | None = None) -> list[str]:
    out: list[str] = []
    if spec.handler is not None and spec.role <= ctx.role:
        out.append(f"`{usage_of(ctx, spec, parent)}` — {ctx.t('help.' + spec.key)}")
    for sub in spec.subcommands:
        if sub.role <= ctx.role and not (sub.needs_circle is False and ctx.circle is not None):
            out.extend(_lines(ctx, sub, spec))  # `/cercle creer` is no use where a circle is
    return out


def find_topic(commands: tuple[CommandSpec, ...], topic: str) -> list[Found]:
    """What `seance cycle`, `/seance`, `cycle` or `session plan` names: a command, one of its
    subcommands, or every subcommand with that name when the command is left out."""
    words = [fold(w.lstrip("/!")) for w in topic.split()]
    words = [w for w in words if w]
    if not words:
        return []
    for spec in commands:
        if words[0] in (fold(w) for w in spec.words()):
            for sub in spec.subcommands:
                if len(words) > 1 and words[1] in (fold(w) for w in sub.words()):
                    return [(sub, spec)]
            return [(spec, None)]
    return [
        (sub, spec)
        for spec in commands
        for sub in spec.subcommands
        if words[0] in (fold(w) for w in sub.words())
    ]


def examples(ctx: Context, spec: CommandSpec) -> list[str]:
    """The worked examples of a command, one per line, in the circle's language."""
    key = "help.example." + spec.key
    return ctx.t(key).splitlines() if ctx.tr.has(ctx.lang, key) else []


def explain(ctx: Context, spec: CommandSpec, parent: CommandSpec | None) -> str:
    """Everything about one command: what it does, who may use it, examples, subcommands."""
    lines: list[str] = []
    if spec.handler is not None:
        lines.append(f"`{usage_of(ctx, spec, parent)}` — {ctx.t('help.' + spec.key)}")
        if spec.role > ctx.role:
            lines.append(ctx.t("help.reserved"))
        shown = examples(ctx, spec)
        if shown:
            lines.append(ctx.t("help.examples"))
            lines.extend(f"  {line}" for line in shown)
    subs = [sub for sub in spec.subcommands if sub.role <= ctx.role]
    if subs:
        lines.append(ctx.t("help.subcommands", command=spec.name(ctx.lang)))
        lines.extend(f"`{usage_of(ctx, sub, spec)}` — {ctx.t('help.' + sub.key)}" for sub in subs)
        first = subs[0]
        lines.append(ctx.t("help.more", topic=f"{spec.name(ctx.lang)} {first.name(ctx.lang)}"))
    elif spec.subcommands and spec.handler is None:
        lines.append(ctx.t("help.reserved"))
    return "\n".join(lines)


async def help_command(ctx: Context, args: dict[str, Any]) -> None:
    topic: str | None = args.get("topic")
    if topic:
        found = find_topic(ctx.commands, topic)
        if not found:
            raise Refusal("help.unknown_topic", name=topic[:40])
        ctx.tell_text("\n\n".join(explain(ctx, spec, parent) for spec, parent in found))
        return
    if ctx.circle is None:
        # No circle, so no language chosen yet: say it in both, the circle's default first.
        langs = sorted(ctx.tr.languages(), key=lambda lang: lang != ctx.lang)
        ctx.tell_text("\n\n".join(ctx.tr.text(lang, "help.no_circle") for lang in langs))
        return
    lines = [ctx.t("help.header")]
    if ctx.role >= Role.FACILITATOR:
        lines.append(ctx.t("help.first_steps"))
    for spec in ctx.commands:
        lines.extend(_lines(ctx, spec))
    lines.append(ctx.t("help.footer"))
    seance = next(spec for spec in ctx.commands if spec.fr == "seance")
    example = (
        f"{seance.name(ctx.lang)} {seance.subcommands[1].name(ctx.lang)}"
        if ctx.role >= Role.FACILITATOR
        else ctx.commands[0].name(ctx.lang)
    )
    lines.append(ctx.t("help.details", topic=example))
    ctx.tell_text("\n".join(lines))
