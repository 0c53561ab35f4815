"""/aide: what one can type here, in the circle's language."""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.commands.parser import fold
from bot.commands.spec import CommandSpec
from bot.errors import Refusal


def _lines(ctx: Context, spec: CommandSpec, parent: CommandSpec | None = None) -> list[str]:
    out: list[str] = []
    if spec.handler is not None and spec.role <= ctx.role:
        usage = spec.usage(ctx.lang, parent.name(ctx.lang) if parent else None)
        out.append(f"`{usage}` — {ctx.t('help.' + spec.key)}")
    for sub in spec.subcommands:
        if sub.role <= ctx.role:
            out.extend(_lines(ctx, sub, spec))
    return out


async def help_command(ctx: Context, args: dict[str, Any]) -> None:
    topic: str | None = args.get("topic")
    if topic:
        wanted = fold(topic.lstrip("/!"))
        for spec in ctx.commands:
            if wanted in (fold(w) for w in spec.words()):
                ctx.tell_text("\n".join(_lines(ctx, spec)))
                return
        raise Refusal("command.unknown", name=topic)
    lines = [ctx.t("help.header")]
    for spec in ctx.commands:
        lines.extend(_lines(ctx, spec) if spec.role <= ctx.role or spec.subcommands else [])
    lines.append(ctx.t("help.footer"))
    ctx.tell_text("\n".join(lines))
