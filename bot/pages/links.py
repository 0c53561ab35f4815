"""Private links to a circle's page: a signed grant for one member of one circle, no accounts.

A link carries a token `payload.signature`, both base64url: the payload names the circle, the
member, their role, the member's link generation and when they joined, and when the link
expires; the signature is HMAC-SHA256 with a secret only the server knows. Nothing is stored
per link, so revoking works by generation: `/lien revoquer` raises the member's
`link_generation`, and every link minted before no longer matches. A member who leaves (or is
forgotten with `/oubli`) has no roster entry for a link to match; one who comes back joins at a
new instant, which old links do not carry.

Reading a token never says why it was refused: tampered, expired, revoked or another circle's
all come out as None, so a page cannot tell whether a circle exists.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.circle import Circle, Member
from bot.domain.refs import UserRef
from bot.domain.roles import Role

MAX_TOKEN_CHARS = 600


@dataclass(frozen=True, slots=True)
class Grant:
    """What a link lets its holder see: one member's view of one circle, until `expires`."""

    circle_id: int
    user: UserRef
    role: Role
    generation: int
    joined: int  # the member's joining instant, in whole seconds since the epoch
    expires: int  # seconds since the epoch


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    """Signs grants into tokens and reads them back; the secret never leaves this object."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the link secret must be at least 16 bytes long")
        self._key = hashlib.sha256(b"cercle-link\x00" + secret).digest()

    def _mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self._key, purpose.encode() + b"\x00" + data, hashlib.sha256).digest()

    def sign(self, grant: Grant) -> str:
        payload = json.dumps(
            [
                grant.circle_id,
                grant.user.key,
                int(grant.role),
                grant.generation,
                grant.joined,
                grant.expires,
            ],
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac('link', payload))}"

    def read(self, token: str, now: datetime) -> Grant | None:
        """The grant of a well-signed, unexpired token; None for anything else."""
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
            return None
        body, _, mac = token.partition(".")
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._mac("link", payload)):
            return None
        try:
            circle_id, user, role, generation, joined, expires = json.loads(payload)
            grant = Grant(
                int(circle_id),
                UserRef.from_key(str(user)),
                Role(int(role)),
                int(generation),
                int(joined),
                int(expires),
            )
        except (ValueError, TypeError):
            return None
        if grant.expires <= now.timestamp():
            return None
        return grant

    def form_key(self, token: str) -> str:
        """The anti-forgery value of a link's forms: only this server can compute it."""
        return _b64(self._mac("form", token.encode()))[:32]


def grant_for(circle: Circle, member: Member, now: datetime) -> Grant:
    """A new link's grant for `member`, valid for the circle's `link_days`."""
    expires = now + timedelta(days=circle.settings.link_days)
    return Grant(
        circle.id,
        member.user,
        member.role,
        member.link_generation,
        int(member.joined_at.timestamp()),
        int(expires.timestamp()),
    )


def member_of(circle: Circle, grant: Grant) -> Member | None:
    """The member a grant still speaks for: same circle, same membership, not revoked."""
    if grant.circle_id != circle.id:
        return None
    member = circle.member(grant.user)
    if member is None or member.link_generation != grant.generation:
        return None
    if not member.active:  # left the cycle (/cercle depart): their links stop working
        return None
    if int(member.joined_at.timestamp()) != grant.joined:
        return None
    return member


@dataclass(frozen=True, slots=True)
class LinkIssuer:
    """Makes the URLs a member is given: the page and the calendar, under the public base URL."""

    signer: LinkSigner
    base_url: str  # e.g. https://cercle.example.org, without a trailing slash
    # True when this process does not serve the pages (trying Cercle in the console): the
    # person is told to start `cercle web`, instead of being given a link that opens nothing
    served_elsewhere: bool = False

    def page_url(self, token: str) -> str:
        return f"{self.base_url}/c/{token}"

    def calendar_url(self, token: str) -> str:
        return f"{self.base_url}/c/{token}/calendar.ics"

    def webcal_url(self, token: str) -> str:
        rest = self.calendar_url(token).split("://", 1)[1]
        return f"webcal://{rest}"
