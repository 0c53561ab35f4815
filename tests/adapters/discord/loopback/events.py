"""The loopback's guild scheduled events: the routes a bot uses to list its planned sessions.

`POST/GET/PATCH/DELETE /guilds/{guild_id}/scheduled-events[/{event_id}]`, with Discord's rules
on what an event needs (an external event a location and an end; a voice or Stage event its
channel) and on how its status may change: scheduled → active → completed, or scheduled →
cancelled. Events are kept per guild in `scheduled_events`, in the JSON Discord sends.
"""

from __future__ import annotations

from typing import Any

from tests.adapters.discord.loopback.model import ApiError, Json
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
