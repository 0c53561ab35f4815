"""The loopback's voice side: who sits in which voice or Stage channel, and what a bot may
change there without joining the call.

Tests seat members (`join_voice`) and raise a hand on a Stage (`request_to_speak`); the bot
answers with `PATCH /guilds/{guild_id}/voice-states/{user_id}` (a Stage speaker or back to the
audience) and `PATCH /guilds/{guild_id}/members/{user_id}` with `mute` (server mute). Both need
Mute Members in that channel, as on Discord, and a member who is connected to voice; each
change is sent back as a VOICE_STATE_UPDATE. States are kept per guild and user in
`voice_states`, in the JSON Discord sends, and are part of GUILD_CREATE.
"""

from __future__ import annotations

from typing import Any

from tests.adapters.discord.loopback.events import ScheduledEvents
from tests.adapters.discord.loopback.model import (
    ApiError,
    Channel,
    GatewaySession,
    Guild,
    Intent,
    Json,
    Member,
    Permission,
    iso,
    now,
)
from tests.adapters.discord.loopback.rest import _Request, _Route

VOICE, STAGE = 2, 13


class VoiceStates(ScheduledEvents):
    """Voice states and the two routes that change them, on top of the loopback's REST side."""

    @property
    def voice_states(self) -> dict[tuple[int, int], Json]:
        """(guild id, user id) → the member's voice state, as Discord sends it."""
        states: dict[tuple[int, int], Json] | None = self.__dict__.get("_voice_states")
        if states is None:
            states = self.__dict__["_voice_states"] = {}
        return states

    def voice_state(self, member: Member) -> Json | None:
        return self.voice_states.get((member.guild.id, member.id))

    def join_voice(self, member: Member, channel: Channel) -> Json:
        """`member` connects to a voice channel (a Stage: in the audience)."""
        if channel.type not in (VOICE, STAGE) or channel.guild is not member.guild:
            raise ValueError(f"#{channel.name} is not a voice channel of {member.guild.name}")
        state: Json = {
            "guild_id": str(member.guild.id),
            "channel_id": str(channel.id),
            "user_id": str(member.id),
            "session_id": f"voice-{member.id}",
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_video": False,
            "suppress": channel.type == STAGE,
            "request_to_speak_timestamp": None,
        }
        self.voice_states[(member.guild.id, member.id)] = state
        self._voice_update(member, state)
        return state

    def request_to_speak(self, member: Member) -> Json:
        """`member`, in a Stage's audience, raises their hand."""
        state = self.voice_state(member)
        if state is None:
            raise ValueError(f"{member.user.username} is not in a voice channel")
        state["request_to_speak_timestamp"] = iso(now())
        self._voice_update(member, state)
        return state

    def _voice_update(self, member: Member, state: Json) -> None:
        self._dispatch(
            "VOICE_STATE_UPDATE",
            state | {"member": member.payload()},
            guild_id=member.guild.id,
            intent=Intent.GUILD_VOICE_STATES,
        )

    def _guild_create(self, guild: Guild, session: GatewaySession) -> Json:
        """With the voice states, and their members among the guild's (as Discord sends the
        members in voice even without the members intent)."""
        data = super()._guild_create(guild, session)
        states = [s for (g, _), s in self.voice_states.items() if g == guild.id]
        sent = {member["user"]["id"] for member in data["members"]}
        for state in states:
            if state["user_id"] not in sent:
                data["members"].append(guild.members[int(state["user_id"])].payload())
        data["voice_states"] = [
            {k: v for k, v in state.items() if k != "guild_id"}
            | {"member": guild.members[int(state["user_id"])].payload()}
            for state in states
        ]
        return data

    def _rest_routes(self) -> list[_Route]:
        return [
            *super()._rest_routes(),
            _Route("PATCH", "/guilds/{guild_id}/voice-states/{user_id}", self._edit_voice_state),
            _Route("PATCH", "/guilds/{guild_id}/members/{user_id}", self._edit_member),
        ]

    def _connected(self, request: _Request) -> tuple[Member, Json, Channel]:
        """The member the route names, their voice state and channel; the bot must be allowed
        to mute people in that channel."""
        guild = self._guild(request)
        member = guild.members.get(request.int_param("user_id"))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        state = self.voice_state(member)
        if state is None or state["channel_id"] is None:
            raise ApiError(400, 40032, "Target user is not connected to voice.")
        channel = self.channel(int(state["channel_id"]))
        if not self._bot_permissions(channel) & Permission.MUTE_MEMBERS:
            raise ApiError(403, 50013, "Missing Permissions")
        return member, state, channel

    async def _edit_voice_state(self, request: _Request) -> tuple[int, Any]:
        member, state, channel = self._connected(request)
        body: Json = dict(request.body or {})
        if channel.type != STAGE:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if str(body.get("channel_id")) != state["channel_id"]:
            raise ApiError(400, 50035, "Invalid Form Body")
        if "suppress" in body:
            state["suppress"] = bool(body["suppress"])
        if "request_to_speak_timestamp" in body:
            state["request_to_speak_timestamp"] = body["request_to_speak_timestamp"]
        self._voice_update(member, state)
        return 204, None

    async def _edit_member(self, request: _Request) -> tuple[int, Any]:
        body: Json = dict(request.body or {})
        if set(body) - {"mute", "deaf"}:
            raise ApiError(400, 50035, "Invalid Form Body")  # only voice changes here
        member, state, _ = self._connected(request)
        for key in ("mute", "deaf"):
            if key in body:
                state[key] = bool(body[key])
        self._voice_update(member, state)
        return 200, member.payload() | {"mute": state["mute"], "deaf": state["deaf"]}
