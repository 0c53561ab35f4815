"""How Discord validates what a bot sends: command definitions, message bodies, selects.

A body Discord would refuse is refused here too, with the same status, code and `errors` tree
(`Invalid Form Body`, 50035), so a bot that passes the tests does not fail on the real Discord.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tests.adapters.discord.loopback.model import ApiError, Json, MessageFlag, walk_components


def usable_in(command: Json, context: int) -> bool:
    contexts = command.get("contexts")
    if contexts is not None:
        return context in contexts
    return context == 0 or command.get("dm_permission", True) is not False


def check_select(component: Json, values: list[str]) -> None:
    low, high = component.get("min_values", 1), component.get("max_values", 1)
    if not low <= len(values) <= high:
        raise ValueError(f"select {component.get('custom_id')!r} takes {low}..{high} values")
    if component["type"] == 3:
        options = [option["value"] for option in component.get("options", [])]
        unknown = [value for value in values if value not in options]
        if unknown:
            raise ValueError(f"select {component.get('custom_id')!r} has no option {unknown}")


def form_error(path: Sequence[str | int], code: str, message: str | None = None) -> Json:
    error: Json = {"_errors": [{"code": code, "message": message or code}]}
    for key in reversed(path):
        error = {str(key): error}
    return error


def _merge(into: Json, error: Json) -> None:
    for key, value in error.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value)
        else:
            into[key] = value


_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")


def command_errors(body: Any) -> Json:
    """Discord's checks on a command: names, descriptions, option counts and order, nesting."""
    errors: Json = {}
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return form_error(["name"], "BASE_TYPE_REQUIRED")
    kind = body.get("type", 1)
    if kind == 1:
        _check_named(body, [], errors)
        _check_options(body.get("options") or [], ["options"], errors, depth=0)
    else:  # user/message context menus: any name, no description
        if not 1 <= len(body["name"]) <= 32:
            _merge(errors, form_error(["name"], "BASE_TYPE_BAD_LENGTH"))
        if body.get("description"):
            _merge(errors, form_error(["description"], "APPLICATION_COMMAND_DESCRIPTION_INVALID"))
    return errors


def _check_named(item: Json, path: list[str | int], errors: Json) -> None:
    name = str(item.get("name", ""))
    if not _NAME.match(name) or name != name.lower():
        _merge(errors, form_error([*path, "name"], "APPLICATION_COMMAND_INVALID_NAME"))
    description = item.get("description")
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        _merge(errors, form_error([*path, "description"], "BASE_TYPE_BAD_LENGTH"))


def _check_options(options: list[Json], path: list[str | int], errors: Json, *, depth: int) -> None:
    if len(options) > 25:
        _merge(errors, form_error(path, "BASE_TYPE_MAX_LENGTH"))
    subcommands = [o for o in options if o.get("type") in (1, 2)]
    if subcommands and len(subcommands) != len(options):
        _merge(errors, form_error(path, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"))
    seen_optional = False
    names = set()
    for index, option in enumerate(options):
        here: list[str | int] = [*path, index]
        _check_named(option, here, errors)
        if option.get("name") in names:
            _merge(errors, form_error(here, "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS"))
        names.add(option.get("name"))
        kind = option.get("type")
        if (kind == 2 and depth > 0) or (kind == 1 and depth > 1):
            _merge(errors, form_error(here, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"))
        if kind in (1, 2):
            children = option.get("options") or []
            if kind == 2 and any(child.get("type") != 1 for child in children):
                _merge(errors, form_error(here, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"))
            _check_options(children, [*here, "options"], errors, depth=depth + 1)
            continue
        if option.get("required"):
            if seen_optional:
                _merge(errors, form_error(here, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"))
        else:
            seen_optional = True
        choices = option.get("choices") or []
        if len(choices) > 25:
            _merge(errors, form_error([*here, "choices"], "BASE_TYPE_MAX_LENGTH"))


_EMBED_LIMITS = {"title": 256, "description": 4096}


def check_message_body(body: Json, flags: int) -> None:
    """Discord's limits on what a message holds: 2000 characters, 10 embeds, 5 rows of 5."""
    content = body.get("content")
    if isinstance(content, str) and len(content) > 2000:
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            form_error(["content"], "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."),
        )
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        raise ApiError(
            400, 50035, "Invalid Form Body", form_error(["embeds"], "BASE_TYPE_MAX_LENGTH")
        )
    total = 0
    for index, embed in enumerate(embeds):
        for key, limit in _EMBED_LIMITS.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                error = form_error(["embeds", index, key], "BASE_TYPE_MAX_LENGTH")
                raise ApiError(400, 50035, "Invalid Form Body", error)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            error = form_error(["embeds", index, "fields"], "BASE_TYPE_MAX_LENGTH")
            raise ApiError(400, 50035, "Invalid Form Body", error)
        for position, item in enumerate(fields):
            name, value = str(item.get("name", "")), str(item.get("value", ""))
            total += len(name) + len(value)
            if len(name) > 256 or len(value) > 1024:
                error = form_error(["embeds", index, "fields", position], "BASE_TYPE_MAX_LENGTH")
                raise ApiError(400, 50035, "Invalid Form Body", error)
        footer = (embed.get("footer") or {}).get("text") or ""
        author = (embed.get("author") or {}).get("name") or ""
        total += len(footer) + len(author)
    if total > 6000:
        raise ApiError(
            400, 50035, "Invalid Form Body", form_error(["embeds"], "MAX_EMBED_SIZE_EXCEEDED")
        )
    components = body.get("components") or []
    is_v2 = flags & MessageFlag.IS_COMPONENTS_V2
    if not is_v2:
        if len(components) > 5:
            raise ApiError(
                400, 50035, "Invalid Form Body", form_error(["components"], "BASE_TYPE_MAX_LENGTH")
            )
        for index, row in enumerate(components):
            if len(row.get("components") or []) > 5:
                error = form_error(["components", index, "components"], "BASE_TYPE_MAX_LENGTH")
                raise ApiError(400, 50035, "Invalid Form Body", error)
    custom_ids = [c["custom_id"] for c in walk_components(components) if "custom_id" in c]
    if len(custom_ids) != len(set(custom_ids)) or any(len(i) > 100 for i in custom_ids):
        error = form_error(["components"], "COMPONENT_CUSTOM_ID_DUPLICATED")
        raise ApiError(400, 50035, "Invalid Form Body", error)


def check_poll(poll: Any) -> None:
    """Discord's rules for a message poll: a question of up to 300 characters, 1 to 10 answers
    of up to 55, and a duration of 1 to 768 whole hours."""

    def refuse(path: list[str | int], code: str) -> ApiError:
        return ApiError(400, 50035, "Invalid Form Body", form_error(["poll", *path], code))

    if not isinstance(poll, dict):
        raise refuse([], "MODEL_TYPE_CONVERT")
    question = (poll.get("question") or {}).get("text")
    if not isinstance(question, str) or not 1 <= len(question) <= 300:
        raise refuse(["question", "text"], "BASE_TYPE_BAD_LENGTH")
    answers = poll.get("answers")
    if not isinstance(answers, list) or not 1 <= len(answers) <= 10:
        raise refuse(["answers"], "BASE_TYPE_BAD_LENGTH")
    for index, answer in enumerate(answers):
        text = ((answer or {}).get("poll_media") or {}).get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 55:
            raise refuse(["answers", index, "poll_media", "text"], "BASE_TYPE_BAD_LENGTH")
    duration = poll.get("duration", 24)
    whole = isinstance(duration, int | float) and float(duration).is_integer()
    if not whole or not 1 <= duration <= 768:
        raise refuse(["duration"], "NUMBER_TYPE_MAX")
