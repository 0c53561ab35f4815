"""Matrix polls (MSC3381) for the vote on cases: what the bot sends, and what it reads back.

Polls are in the Matrix spec as `m.poll.start` / `m.poll.response` / `m.poll.end`; Element
(through matrix-js-sdk) still sends the unstable `org.matrix.msc3381.poll.*` names and reads
both. So the bot sends the stable event types with both spellings of each content block, and
reads responses under either name, in either shape: `m.selections` (stable) or
`org.matrix.msc3381.poll.response: {answers}` (unstable). Each answer's id is `case-<n>`, the
case number itself, so a response needs no table to be read.
"""

from __future__ import annotations

from typing import Any

POLL_START = "m.poll.start"
POLL_END = "m.poll.end"
RESPONSE_TYPES = frozenset(
    {"m.poll.response", "org.matrix.msc3381.poll.response", "org.matrix.msc3381.v2.poll.response"}
)
_UNSTABLE_TEXT = "org.matrix.msc1767.text"


def _text(body: str) -> dict[str, Any]:
    """A text block in both spellings: stable `m.text` (a list of representations) and the
    unstable one (a string)."""
    return {"m.text": [{"body": body}], _UNSTABLE_TEXT: body}


def answer_id(number: int) -> str:
    return f"case-{number}"


def start_content(
    question: str, answers: tuple[tuple[int, str], ...], max_selections: int
) -> dict[str, Any]:
    """The content of an `m.poll.start` on the cases, with a plain-text fallback."""
    listed = [{"id": answer_id(n), "m.id": answer_id(n), **_text(label)} for n, label in answers]
    poll = {
        "question": _text(question),
        "kind": "org.matrix.msc3381.poll.disclosed",
        "max_selections": max_selections,
        "answers": listed,
    }
    fallback = "\n".join([question, *(f"{i}. {label}" for i, (_, label) in enumerate(answers, 1))])
    stable = {**poll, "kind": "m.disclosed"}
    return {
        "m.poll": stable,
        "m.poll.start": poll,
        "org.matrix.msc3381.poll.start": poll,
        **_text(fallback),
        "body": fallback,
        "m.mentions": {},
    }


def end_content(poll_event_id: str, text: str) -> dict[str, Any]:
    """The content of an `m.poll.end` closing the poll `poll_event_id`."""
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event_id},
        "m.poll.end": {},
        "org.matrix.msc3381.poll.end": {},
        **_text(text),
        "body": text,
        "m.mentions": {},
    }


def read_response(event_type: str, content: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(the poll's event id, the answer ids now selected) of a poll response, else None."""
    if event_type not in RESPONSE_TYPES:
        return None
    relates = content.get("m.relates_to") or {}
    poll_id = relates.get("event_id")
    if relates.get("rel_type") != "m.reference" or not isinstance(poll_id, str):
        return None
    selections: Any = content.get("m.selections")
    if selections is None:
        selections = content.get("org.matrix.msc3381.v2.selections")
    for block in ("m.poll.response", "org.matrix.msc3381.poll.response"):
        if selections is None and isinstance(content.get(block), dict):
            selections = content[block].get("answers")
    if not isinstance(selections, list):
        return None
    return poll_id, [s for s in selections if isinstance(s, str)][:50]
