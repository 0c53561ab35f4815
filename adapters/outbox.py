"""`cercle outbox`: what waits to be delivered, and since when, as lines for operators.

A message waits in the outbox from the moment the core decides to post it until the platform
has taken it; normally for milliseconds. Rows that wait longer belong to a room the platform
refuses to serve for now (an outage, a rate limit), or to an instance that is not running: the
next start of that instance posts them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.outbox import OutboxReport

STUCK_AFTER = timedelta(minutes=5)  # waiting longer than this: exit status 1


def _age(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def outbox_lines(found: OutboxReport, total: int, now: datetime) -> list[str]:
    if not found.waiting:
        lines = ["nothing waits to be delivered"]
    else:
        lines = [f"{total} messages wait to be delivered (the oldest first):"]
        for row in found.waiting:
            stuck = "  stuck" if now - row.created_at > STUCK_AFTER else ""
            lines.append(
                f"  #{row.id}  {row.kind:<6}  {row.channel}  ({row.home or 'no home'})  "
                f"since {row.created_at:%Y-%m-%d %H:%M:%S} UTC ({_age(now - row.created_at)}), "
                f"{row.attempts} failed attempts{stuck}"
            )
        if total > len(found.waiting):
            lines.append(f"  … and {total - len(found.waiting)} more")
    if found.refused:
        counts = ", ".join(f"{reason}: {n}" for reason, n in sorted(found.refused.items()))
        lines.append(f"refused by the platform for good (kept 7 days): {counts}")
    return lines
