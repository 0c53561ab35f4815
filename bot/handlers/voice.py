"""`/cercle vocal`: a voice or Stage channel follows the speaking order (opt-in per circle).

The platform says what the channel is (`Context.resolve_voice`), so every refusal happens here,
before anything is stored: not a voice channel, a platform without voice channels, strict mode
without the right to mute people.
"""

from __future__ import annotations

from typing import Any

from bot.commands.context import Context
from bot.errors import Refusal

OFF = {"non", "no", "off", "aucun", "none", "jamais", "never"}


async def voice(ctx: Context, args: dict[str, Any]) -> None:
    """`/cercle vocal #salon [strict]`, `/cercle vocal non`, or `/cercle vocal` to see it."""
    circle = ctx.require_circle()
    settings = circle.settings
    typed: str | None = args.get("channel")
    if typed is None:
        if settings.voice_channel is None:
            ctx.tell("voice.is_off")
        else:
            key = "voice.is_strict" if settings.voice_strict else "voice.is"
            ctx.tell(key, channel=f"<#{settings.voice_channel}>")
        return
    if typed.casefold() in OFF:
        settings.voice_channel = None
        settings.voice_strict = False
        ctx.say("voice.set_off")
        return
    if ctx.resolve_voice is None:
        raise Refusal("voice.unsupported")
    room = ctx.resolve_voice(typed)
    if room is None:
        raise Refusal("voice.not_voice", value=typed[:40])
    strict = args.get("mode") == "strict"
    if strict and room.stage:
        raise Refusal("voice.strict_on_stage", channel=room.name)
    if strict and not room.can_mute:
        raise Refusal("voice.strict_needs_mute", channel=room.name)
    if room.stage and not room.can_mute:  # Discord asks for it to bring someone up, too
        raise Refusal("voice.stage_needs_mute", channel=room.name)
    settings.voice_channel = room.id
    settings.voice_strict = strict
    if room.stage:
        ctx.say("voice.set_stage", channel=room.name)
    elif strict:
        ctx.say("voice.set_strict", channel=room.name)
    else:
        ctx.say("voice.set_voice", channel=room.name)
