"""The `cercle` command: demo, console, run, db upgrade, export."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TextIO

from adapters.bootstrap import Runtime, open_runtime
from adapters.config import Config, ConfigError, console_section, load_config
from adapters.console.adapter import ConsoleAdapter, ScriptError
from bot.exports.data import circle_data, recaps_markdown
from bot.timing.clock import Clock, ManualClock, SystemClock

DEMO_START = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)  # 14:00 in Paris


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cercle", description="Cercle, a bot for peer circles.")
    parser.add_argument("--config", type=Path, help="configuration file (TOML)")
    parser.add_argument("--data-dir", type=Path, help="where the SQLite database lives")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="watch a whole séance in the terminal")
    demo.add_argument("--lang", choices=("fr", "en"), default="fr")
    console = sub.add_parser("console", help="a circle in the terminal: 'name: /command'")
    console.add_argument(
        "--script",
        type=Path,
        help="run lines from a file ('-': standard input) on a simulated clock",
    )
    console.add_argument("--start", help="simulated start instant (ISO 8601), with --script")
    console.add_argument("--quiet-status", action="store_true", help="don't print status")
    console.add_argument(
        "--account", help="this console's account: several instances share out circles by it"
    )
    console.add_argument(
        "--show-channel", action="store_true", help="print the channel of each message"
    )
    for talking in (demo, console):
        talking.add_argument(
            "--log-level",
            choices=("DEBUG", "INFO", "WARNING", "ERROR"),
            type=str.upper,
            help="log level (default: WARNING, so log lines do not cut into the conversation)",
        )
    run = sub.add_parser("run", help="run Cercle with the adapters of the configuration")
    run.add_argument("--config", dest="run_config", type=Path)
    web_cmd = sub.add_parser("web", help="serve the circles' web pages alone, for a data dir")
    web_cmd.add_argument("--host", help="address to listen on (default: [web] host)")
    web_cmd.add_argument("--port", type=int, help="port to listen on (default: [web] port)")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply the database migrations")
    move = db_sub.add_parser(
        "migrate-sqlite-to-postgres",
        help="copy the SQLite database into the PostgreSQL one of cercle.database_url_env",
    )
    move.add_argument("--sqlite", type=Path, help="the SQLite file (default: the data dir's)")
    discord_cmd = sub.add_parser("discord", help="Discord maintenance")
    discord_sub = discord_cmd.add_subparsers(dest="discord_command", required=True)
    sync = discord_sub.add_parser("sync", help="register the slash commands with Discord")
    sync.add_argument("--guild", type=int, help="only this server (instant), else global")
    sub.add_parser("instances", help="the running instances and how the work is shared out")
    sub.add_parser("outbox", help="messages waiting to be delivered, and since when")
    export = sub.add_parser("export", help="print a circle's data")
    export.add_argument("--format", choices=("json", "md", "ics"), default="json")
    export.add_argument("--circle", help="only the circle with this name")
    return parser


def _config(args: argparse.Namespace) -> Config:
    path = getattr(args, "run_config", None) or args.config
    # only `run` logs in to the platforms; migrations and exports need no token
    config = load_config(path, need_secrets=args.command == "run")
    if args.data_dir is not None:
        config = replace(config, data_dir=args.data_dir)
    return config


def recaps_dir(config: Config) -> Path:
    """Where the console writes published recaps (Markdown and chart): beside the database."""
    return config.data_dir / "recaps"


async def _play(
    runtime: Runtime,
    lines: list[str],
    out: TextIO,
    quiet: bool = False,
    folder: Path | None = None,
) -> None:
    adapter = ConsoleAdapter(
        runtime.core,
        out,
        show_status=not quiet,
        recaps_dir=folder,
        account=runtime.config.console.account,
    )
    await adapter.catch_up()
    for number, line in enumerate(lines, start=1):
        try:
            await adapter.feed(line)
        except ScriptError as error:
            out.write(f"[script, line {number}] {error}\n")


async def _play_stdin(runtime: Runtime, quiet: bool, show_channel: bool) -> None:
    """Script lines from standard input, handled as they arrive (for driving a live process)."""
    adapter = ConsoleAdapter(
        runtime.core,
        sys.stdout,
        show_status=not quiet,
        recaps_dir=recaps_dir(runtime.config),
        account=runtime.config.console.account,
        show_channel=show_channel,
    )
    await adapter.catch_up()
    print("[console] ready", flush=True)
    number = 0
    while line := await asyncio.to_thread(sys.stdin.readline):
        number += 1
        try:
            await adapter.feed(line)
        except ScriptError as error:
            print(f"[script, line {number}] {error}", flush=True)


async def _demo(config: Config, lang: str) -> int:
    script = resources.files("bot.demo").joinpath("meteo.txt").read_text("utf-8")
    lines = script.splitlines()
    if lang == "en":
        created = next(i for i, line in enumerate(lines) if "/cercle creer" in line)
        lines.insert(created + 1, "camille: /cercle langue en")
    with tempfile.TemporaryDirectory(prefix="cercle-demo-") as tmp:
        demo_config = replace(config, data_dir=Path(tmp), database_url=None)
        async with open_runtime(demo_config, ManualClock(DEMO_START)) as runtime:
            await _play(runtime, lines, sys.stdout)
    return 0


async def _console(
    config: Config, script: Path | None, start: str | None, quiet: bool, show_channel: bool
) -> int:
    if script is not None:
        try:
            begin = datetime.fromisoformat(start) if start else datetime.now(UTC)
        except ValueError:
            print(f"cercle: --start: not an ISO 8601 instant: {start}", file=sys.stderr)
            return 2
        if begin.tzinfo is None:
            begin = begin.replace(tzinfo=UTC)
        if str(script) == "-":
            async with open_runtime(config, ManualClock(begin)) as runtime:
                await _play_stdin(runtime, quiet, show_channel)
            return 0
        try:
            lines = (await asyncio.to_thread(script.read_text, "utf-8")).splitlines()
        except (OSError, UnicodeDecodeError) as error:
            print(f"cercle: cannot read {script}: {error}", file=sys.stderr)
            return 1
        async with open_runtime(config, ManualClock(begin)) as runtime:
            await _play(runtime, lines, sys.stdout, quiet, recaps_dir(config))
        return 0
    from adapters.runner import run_service

    return await run_service(replace(config, adapters=("console",)))


async def _export(config: Config, circle_name: str | None, fmt: str) -> int:
    clock: Clock = SystemClock()
    async with open_runtime(config, clock) as runtime, runtime.database() as uow:
        circles = await uow.circles.all()
        if circle_name is not None:
            circles = [c for c in circles if c.name == circle_name]
            if not circles:
                print(f"cercle: no circle named {circle_name!r}", file=sys.stderr)
                return 1
        if fmt == "ics":
            if len(circles) != 1:
                names = ", ".join(repr(c.name) for c in circles) or "none"
                print(
                    f"cercle: --format ics needs one --circle (circles: {names})", file=sys.stderr
                )
                return 1
            from bot.exports.ical import circle_calendar

            seances = await uow.seances.for_circle(circles[0].id)
            core = runtime.core
            calendar = circle_calendar(
                circles[0], seances, core.protocols, core.translator, now=clock.now()
            )
            sys.stdout.write(calendar.decode("utf-8"))
            return 0
        if fmt == "md":
            core = runtime.core
            for circle in circles:
                seances = await uow.seances.for_circle(circle.id)
                items = await uow.items.for_circle(circle.id)
                lang, tz = circle.settings.language, circle.settings.timezone
                sys.stdout.write(
                    recaps_markdown(circle, seances, items, core.translator, lang, tz) + "\n"
                )
            return 0
        data = []
        for circle in circles:
            seances = await uow.seances.for_circle(circle.id)
            items = await uow.items.for_circle(circle.id)
            answers = await uow.answers.for_circle(circle.id)
            rsvps = await uow.rsvps.for_circle(circle.id)
            cases = await uow.cases.for_circle(circle.id)
            vote = await uow.case_votes.get(circle.id)
            data.append(circle_data(circle, seances, items, answers, rsvps, cases, vote))
    json.dump({"circles": data}, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


async def _upgrade(url: str) -> None:
    from storage.database import Database

    database = Database(url)
    try:
        await database.upgrade()
    finally:
        await database.close()


async def _instances(config: Config) -> int:
    """Print the instances on record; exit status 1 when the work is not shared out right."""
    from adapters.bootstrap import database_url
    from adapters.instances import table
    from storage.database import Database
    from storage.registry import instances

    database = Database(database_url(config))
    try:
        await database.upgrade()
        lines = table(await instances(database), SystemClock().now())
    finally:
        await database.close()
    print("\n".join(lines))
    return 1 if any(line.startswith(("warning:", "no instance")) for line in lines) else 0


async def _outbox(config: Config) -> int:
    """Print what waits to be delivered; exit status 1 when something has waited too long."""
    from adapters.bootstrap import database_url
    from adapters.outbox import STUCK_AFTER, outbox_lines
    from storage.database import Database
    from storage.outbox import report, waiting_count

    database = Database(database_url(config))
    try:
        await database.upgrade()
        found, total = await report(database), await waiting_count(database)
    finally:
        await database.close()
    now = SystemClock().now()
    print("\n".join(outbox_lines(found, total, now)))
    stuck = [p for p in found.waiting if now - p.created_at > STUCK_AFTER]
    return 1 if stuck else 0


def _migrate_to_postgres(config: Config, sqlite: Path | None) -> int:
    from storage.database import sqlite_url
    from storage.transfer import TransferError, copy_sqlite_to_postgres

    source = sqlite or config.sqlite_path()
    if not source.is_file():
        print(f"cercle: no SQLite database at {source}", file=sys.stderr)
        return 1
    if config.database_url is None:
        print(
            "cercle: set cercle.database_url_env in the configuration, naming the variable "
            "that holds the PostgreSQL URL",
            file=sys.stderr,
        )
        return 2
    try:
        copied = asyncio.run(copy_sqlite_to_postgres(sqlite_url(source), config.database_url))
    except TransferError as error:
        print(f"cercle: {error}", file=sys.stderr)
        return 1
    for table, count in copied.rows.items():
        print(f"{table}: {count}")
    print(f"copied {copied.total} rows from {source}")
    return 0


def _log_level(args: argparse.Namespace, config: Config) -> str:
    """The demo and the console talk on the terminal: their logs stay quiet (WARNING and up)
    unless `--log-level` asks for more; the service logs at the configured level."""
    asked: str | None = getattr(args, "log_level", None)
    if asked is not None:
        return asked
    if args.command in ("demo", "console"):
        configured = logging.getLevelName(config.log_level)
        return config.log_level if configured >= logging.WARNING else "WARNING"
    return config.log_level


def main(argv: list[str] | None = None) -> int:
    from storage.database import DatabaseProblem

    try:
        return _main(argv)
    except DatabaseProblem as error:
        print(f"cercle: {error}", file=sys.stderr)
        return 1


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _config(args)
    except ConfigError as error:
        print(f"cercle: configuration error: {error}", file=sys.stderr)
        return 2
    from adapters.logs import configure_logging, secrets_of

    configure_logging(_log_level(args, config), config.log_format, secrets_of(config))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if args.command == "demo":
        return asyncio.run(_demo(config, args.lang))
    if args.command == "console":
        if args.account is not None:
            try:
                config = replace(config, console=console_section({"account": args.account}))
            except ConfigError as error:
                print(f"cercle: --account: {error}", file=sys.stderr)
                return 2
        return asyncio.run(
            _console(config, args.script, args.start, args.quiet_status, args.show_channel)
        )
    if args.command == "run":
        from adapters.runner import run_service

        return asyncio.run(run_service(config))
    if args.command == "web":
        from adapters.web.alone import serve_web

        return asyncio.run(serve_web(config, args.host, args.port))
    if args.command == "db":
        from adapters.bootstrap import database_url

        if args.db_command == "migrate-sqlite-to-postgres":
            return _migrate_to_postgres(config, args.sqlite)
        asyncio.run(_upgrade(database_url(config)))
        print("database up to date")
        return 0
    if args.command == "discord":
        from adapters.config import discord_section
        from adapters.discord.sync import sync_commands

        discord_config = config.discord or discord_section({}, dict(os.environ), need_token=False)
        if not discord_config.token:
            print("cercle: discord.token_env: no Discord token in the environment", file=sys.stderr)
            return 2
        count = asyncio.run(sync_commands(discord_config, args.guild))
        print(f"{count} commands registered")
        return 0
    if args.command == "export":
        return asyncio.run(_export(config, args.circle, args.format))
    if args.command == "instances":
        return asyncio.run(_instances(config))
    if args.command == "outbox":
        return asyncio.run(_outbox(config))
    return 2


if __name__ == "__main__":
    sys.exit(main())
