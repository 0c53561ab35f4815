"""Serving aiohttp applications on the bot's own asyncio loop: the circles' pages, and the
operator's health check and metrics (on their own address, loopback by default).

`/healthz` answers 200 `{"status": "ok"}` when the database answers a trivial query within 2 s,
else 503 `{"status": "unavailable", "reason": "..."}` (also while the process is stopping);
`/metrics` gives the metrics of `adapters/metrics.py` in Prometheus' text format.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from adapters.metrics import Health, Metrics
from adapters.web.security import RedactedAccessLog

log = logging.getLogger(__name__)
access_log = logging.getLogger("cercle.web.access")

SHUTDOWN_SECONDS = 1.0


class HttpServer:
    """One aiohttp application listening on one address; `port` is the one it got."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.host = host
        self._requested_port = port
        self._runner = web.AppRunner(
            app,
            access_log_class=RedactedAccessLog,
            access_log=access_log,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_SECONDS,
        )
        self._listening = False

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        self._listening = True

    @property
    def port(self) -> int:
        """The port it listens on (the one the system chose, when asked for port 0)."""
        for address in self._runner.addresses if self._listening else ():
            port: int = address[1]
            return port
        raise RuntimeError(f"{self.host}: not listening")

    async def close(self) -> None:
        """Stop listening and end the connections being served."""
        if not self._listening:
            return
        self._listening = False
        await self._runner.cleanup()


def ops_app(metrics: Metrics, health: Health) -> web.Application:
    """GET /healthz and GET /metrics; anything else is a 404 (a 405 for another method)."""

    async def healthz(request: web.Request) -> web.Response:
        reason = await health.check()
        metrics.up.set(0 if reason else 1)
        answer = {"status": "ok"} if reason is None else {"status": "unavailable", "reason": reason}
        body = json.dumps(answer).encode()
        status = 200 if reason is None else 503
        return web.Response(status=status, body=body, content_type="application/json")

    async def scrape(request: web.Request) -> web.Response:
        reason = await health.check()
        metrics.up.set(0 if reason else 1)
        response = web.Response(body=metrics.latest())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/healthz", healthz, allow_head=False)
    app.router.add_get("/metrics", scrape, allow_head=False)
    return app


class OpsServer(HttpServer):
    """The health check and metrics endpoint."""

    def __init__(self, metrics: Metrics, health: Health, host: str, port: int) -> None:
        super().__init__(ops_app(metrics, health), host, port)
