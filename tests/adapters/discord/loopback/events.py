"""The loopback's guild scheduled events: the routes a bot uses to list its planned sessions.

`POST/GET/PATCH/DELETE /guilds/{guild_id}/scheduled-events[/{event_id}]`, with Discord's rules
on what an event needs (an external event a location and an end; a voice or Stage event its
channel) and on how its status may change: scheduled → active → completed, or scheduled →
cancelled. Events are kept per guild in `scheduled_events`, in the JSON Discord sends.

People mark an event "Interested" with `mark_interested` (and take it back with
`unmark_interested`): the event's `user_count` changes and the sessions with the
guild_scheduled_events intent get GUILD_SCHEDULED_EVENT_USER_ADD (or _REMOVE), which carries
ids only, as Discord's does. A second mark by the same person changes nothing and sends nothing.
"""

from __future__ import annotations

from typing import Any

from tests.adapters.discord.loopback.model import ApiError, Intent, Json, Member
from tests.adapters.discord.loopback.rest import Rest, _Request, _Route

SCHEDULED, ACTIVE, COMPLETED, CANCELLED = 1, 2, 3, 4
STAGE, VOICE, EXTERNAL = 1, 2, 3
GUILD_ONLY = 2
NEXT_STATUS = {SCHEDULED: {ACTIVE, CANCELLED}, ACTIVE: {COMPLETED}}
EDITABLE = (
    "name",
    "description",
    "scheduled_start_time",
    "scheduled_end_time",
    "entity_type",
    "entity_metadata",
    "channel_id",
    "privacy_level",
)


def _invalid(field: str) -> ApiError:
    return ApiError(400, 50035, "Invalid Form Body", {field: {"_errors": [{"code": "BASE"}]}})


class ScheduledEvents(Rest):
    """Guild scheduled events on top of the loopback's REST side."""

    @property
    def scheduled_events(self) -> dict[int, Json]:
        """Every event the bot made, by id (the JSON Discord would send)."""
        events: dict[int, Json] | None = self.__dict__.get("_scheduled_events")
        if events is None:
            events = self.__dict__["_scheduled_events"] = {}
        return events

    @property
    def interested(self) -> dict[int, set[int]]:
        """Event id -> the ids of the people who marked it "Interested"."""
        marks: dict[int, set[int]] | None = self.__dict__.get("_interested")
        if marks is None:
            marks = self.__dict__["_interested"] = {}
        return marks

    def mark_interested(self, member: Member, event_id: int | str) -> int | None:
        """`member` clicks "Interested" on the event; the dispatch's first sequence number
        (None if no session got it, or if they had already marked it)."""
        return self._interest(member, int(event_id), marked=True)

    def unmark_interested(self, member: Member, event_id: int | str) -> int | None:
        """`member` takes their "Interested" back."""
        return self._interest(member, int(event_id), marked=False)

    def _interest(self, member: Member, event_id: int, *, marked: bool) -> int | None:
        event = self.scheduled_events.get(event_id)
        if event is None or int(event["guild_id"]) != member.guild.id:
            raise LookupError(f"no scheduled event {event_id} in {member.guild.name}")
        people = self.interested.setdefault(event_id, set())
        if (member.id in people) == marked:
            return None
        if marked:
            people.add(member.id)
        else:
            people.discard(member.id)
        event["user_count"] = len(people)
        return self._dispatch(
            "GUILD_SCHEDULED_EVENT_USER_ADD" if marked else "GUILD_SCHEDULED_EVENT_USER_REMOVE",
            {
                "guild_scheduled_event_id": str(event_id),
                "user_id": str(member.id),
                "guild_id": str(member.guild.id),
            },
            guild_id=member.guild.id,
            intent=int(Intent.GUILD_SCHEDULED_EVENTS),
        )

    def events_of(self, guild_id: int) -> list[Json]:
        return [e for e in self.scheduled_events.values() if int(e["guild_id"]) == guild_id]

    def _rest_routes(self) -> list[_Route]:
        path = "/guilds/{guild_id}/scheduled-events"
        return [
            *super()._rest_routes(),
            _Route("GET", path, self._list_events),
            _Route("POST", path, self._create_event),
            _Route("GET", f"{path}/{{event_id}}", self._get_event),
            _Route("PATCH", f"{path}/{{event_id}}", self._edit_event),
            _Route("DELETE", f"{path}/{{event_id}}", self._delete_event),
        ]

    def _event(self, request: _Request) -> Json:
        guild = self._guild(request)
        event = self.scheduled_events.get(request.int_param("event_id"))
        if event is None or int(event["guild_id"]) != guild.id:
            raise ApiError(404, 10070, "Unknown Guild Scheduled Event")
        return event

    @staticmethod
    def _check(event: Json) -> None:
        if event.get("channel_id") is not None:  # a snowflake, sent back as a string
            event["channel_id"] = str(event["channel_id"])
        if not str(event.get("name") or "").strip() or len(event["name"]) > 100:
            raise _invalid("name")
        if not event.get("scheduled_start_time"):
            raise _invalid("scheduled_start_time")
        if event.get("privacy_level") != GUILD_ONLY:
            raise _invalid("privacy_level")
        kind = event.get("entity_type")
        if kind == EXTERNAL:
            if not (event.get("entity_metadata") or {}).get("location"):
                raise _invalid("entity_metadata")
            if not event.get("scheduled_end_time"):
                raise _invalid("scheduled_end_time")
        elif kind in (STAGE, VOICE):
            if not event.get("channel_id"):
                raise _invalid("channel_id")
        else:
            raise _invalid("entity_type")

    async def _list_events(self, request: _Request) -> tuple[int, Any]:
        return 200, self.events_of(self._guild(request).id)

    async def _create_event(self, request: _Request) -> tuple[int, Any]:
        guild = self._guild(request)
        body: Json = dict(request.body or {})
        event: Json = {
            "id": str(self.snowflake()),
            "guild_id": str(guild.id),
            "creator_id": str(self.bot_user.id),
            "status": SCHEDULED,
            "entity_id": None,
            "user_count": 0,
            "channel_id": None,
            "description": None,
            "scheduled_end_time": None,
            "entity_metadata": None,
        }
        event |= {k: body[k] for k in EDITABLE if k in body}
        self._check(event)
        self.scheduled_events[int(event["id"])] = event
        return 200, event

    async def _get_event(self, request: _Request) -> tuple[int, Any]:
        return 200, self._event(request)

    async def _edit_event(self, request: _Request) -> tuple[int, Any]:
        event = self._event(request)
        body: Json = dict(request.body or {})
        changed = event | {k: body[k] for k in EDITABLE if k in body}
        if "status" in body and body["status"] != event["status"]:
            if body["status"] not in NEXT_STATUS.get(event["status"], set()):
                raise _invalid("status")
            changed["status"] = body["status"]
        moved = {k for k in ("name", "scheduled_start_time") if k in body and body[k] != event[k]}
        if event["status"] != SCHEDULED and moved:
            raise _invalid("status")  # only a scheduled event can be renamed or moved
        self._check(changed)
        event.update(changed)
        return 200, event

    async def _delete_event(self, request: _Request) -> tuple[int, Any]:
        event = self._event(request)
        del self.scheduled_events[int(event["id"])]
        return 204, None
