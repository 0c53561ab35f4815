"""What every answer of the web pages carries, and what every form must show to be believed.

- Headers: a strict Content-Security-Policy (nothing but this server's own styles and images,
  no scripts at all), `Referrer-Policy: no-referrer` (the link's token never leaves in a
  Referer), no framing, no sniffing, and no caching of personal pages.
- Forms: a POST is believed only with the link's form key (an HMAC of the token, see
  `LinkSigner.form_key`) and a browser's word that it comes from this site: an `Origin` equal
  to the public base URL's, or `Sec-Fetch-Site: same-origin` (browsers send `Origin: null`
  under `no-referrer`).
- Logs: the access log never shows a token: `/c/<token>/…` is written `/c/…/…`.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_TOKEN_IN_PATH = re.compile(r"/c/[^/?#\s]+")


def redact(path: str) -> str:
    """A request path as it may be logged: no token, no query."""
    return _TOKEN_IN_PATH.sub("/c/…", path.split("?", 1)[0])


@web.middleware
async def secure_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:
        response = error
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith("/c/"):
        response.headers["Cache-Control"] = "no-store"
    if isinstance(response, web.HTTPException) and response.status >= 400:
        # aiohttp's own 404/405 pages: answered, not raised, so they keep the headers above
        return web.Response(
            status=response.status,
            text=f"{response.status} {response.reason}\n",
            headers={k: v for k, v in response.headers.items() if k.lower() != "content-length"},
        )
    return response


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_site_post(request: web.Request, origin: str) -> bool:
    """Whether the browser says this POST comes from a page of this site."""
    sent = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if sent is not None and sent != "null" and sent.lower() != origin:
        return False
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    return (sent is not None and sent.lower() == origin) or fetch_site == "same-origin"


def form_key_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


class RedactedAccessLog(AbstractAccessLogger):
    """One line per request, the token left out."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %d %.1f ms",
            request.method,
            redact(request.path),
            response.status,
            time * 1000,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
