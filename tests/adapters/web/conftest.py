"""A running site: a real SQLite database, the core on a manual clock, and the pages served by
aiohttp on 127.0.0.1; a circle that has had one séance and plans the next."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.bootstrap import Runtime, open_runtime
from adapters.config import parse_config
from adapters.web.app import create_app
from adapters.web.server import HttpServer
from bot.effects import Effect, Reply
from bot.timing.clock import ManualClock
from tests.conversation import START, Chat
from tests.unit.test_recap import run_seance

SECRET = "a web secret for the tests, long enough"


@dataclass
class Site:
    """The pages at `url`, the core behind them, and what the channels were told."""

    runtime: Runtime
    chat: Chat
    url: str
    told: list[Effect] = field(default_factory=list)

    async def link(self, name: str, chat: Chat | None = None) -> str:
        """The token of the link /lien gives `name`."""
        chat = chat or self.chat
        await chat.say(name, "/lien")
        assert chat.refused is None, chat.text
        found = re.search(r"/c/([A-Za-z0-9_.-]+)\n", chat.text)
        assert found, chat.text
        return found[1]

    def channel_texts(self) -> list[str]:
        return [e.text for e in self.told if isinstance(e, Reply) and not e.private]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = parse_config(
        {
            "cercle": {"data_dir": str(tmp_path / "data")},
            "web": {"enabled": True, "port": port, "base_url": url},
        },
        {"CERCLE_WEB_SECRET": SECRET},
    )
    clock = ManualClock(START)
    async with open_runtime(config, clock) as runtime:
        chat = Chat(runtime.database, clock=clock, core=runtime.core)
        await run_seance(chat)
        site = Site(runtime, chat, url)

        async def deliver(effects: list[Effect]) -> None:
            site.told.extend(effects)

        server = HttpServer(create_app(runtime.core, deliver), "127.0.0.1", port)
        await server.start()
        try:
            yield site
        finally:
            await server.close()
