"""The typed configuration, read from TOML; any mistake stops start-up with one clear line."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.circle import LANGUAGES, CircleSettings, QueueOrder
from bot.domain.protocol import Protocol, ProtocolBook, ProtocolError, protocol_from_mapping

DEFAULT_DATA_DIR = Path("cercle-data")
DATA_DIR_ENV = "CERCLE_DATA_DIR"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
ADAPTERS = ("console", "matrix", "discord")
TRUST_MODES = ("all", "tofu")


class ConfigError(ValueError):
    """A configuration mistake; the message names the key and says what is expected."""


@dataclass(frozen=True, slots=True)
class Config:
    """Everything Cercle needs to start; secrets are read from the environment, never stored."""

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    log_level: str = "INFO"
    log_format: str = "text"
    adapters: tuple[str, ...] = ("console",)
    defaults: CircleSettings = field(default_factory=CircleSettings)
    protocols: dict[str, Protocol] = field(default_factory=dict)
    matrix: MatrixConfig | None = None
    discord: DiscordConfig | None = None
    console: ConsoleConfig = field(default_factory=lambda: ConsoleConfig())
    metrics: MetricsConfig = field(default_factory=lambda: MetricsConfig())
    web: WebConfig = field(default_factory=lambda: WebConfig())

    def sqlite_path(self) -> Path:
        return self.data_dir / "cercle.sqlite3"

    def protocol_book(self) -> ProtocolBook:
        return ProtocolBook(self.protocols)


_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "cercle": {
        "data_dir": str,
        "database_url_env": str,
        "log_level": str,
        "log_format": str,
        "adapters": list,
    },
    "defaults": {
        "language": str,
        "timezone": str,
        "protocol": str,
        "queue_order": str,
        "round_auto_advance": bool,
        "phase_auto_advance": bool,
        "recap_approval": bool,
        "retention_days": int,
    },
    "protocols": {},
    "discord": {
        "token_env": str,
        "guild_ids": list,
        "facilitator_roles": list,
        "shard_count": int,
        "shard_ids": list,
        "hide_facilitator_commands": bool,
    },
    "console": {
        "account": str,
    },
    "metrics": {
        "enabled": bool,
        "host": str,
        "port": int,
    },
    "web": {
        "enabled": bool,
        "host": str,
        "port": int,
        "base_url": str,
        "secret_env": str,
    },
    "matrix": {
        "homeserver": str,
        "user_id": str,
        "device_id": str,
        "access_token_env": str,
        "password_env": str,
        "allowed_inviters": list,
        "trust_devices": str,
        "encryption": bool,
        "retry_max_seconds": (int, float),
    },
}


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    """The bot user on Discord; the token comes from the environment."""

    token: str | None = field(default=None, repr=False)
    guild_ids: tuple[int, ...] = ()
    facilitator_roles: tuple[str, ...] = ()
    # Several instances share the servers out by shard: this one runs `shard_ids` of
    # `shard_count` (None: one instance runs every shard).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    # Commands only facilitators may use are shown only to members with Manage Channels
    # (server admins can still change it per command in the server's settings).
    hide_facilitator_commands: bool = False


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """The console adapter; `account` names its circles' home, as a bot account would."""

    account: str = "local"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """The health and Prometheus metrics endpoint: off unless enabled, on loopback by default."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The circles' web pages: off unless enabled, on loopback by default (put a proxy with
    HTTPS in front); `base_url` is the public address the links given by /lien start with.
    `secret` signs the links; it comes from the environment variable `secret_env`."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str = "http://127.0.0.1:8080"
    secret_env: str = "CERCLE_WEB_SECRET"
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class MatrixConfig:
    """The bot account on a Matrix homeserver; the secret itself comes from the environment."""

    homeserver: str
    user_id: str
    device_id: str = "CERCLE"
    access_token: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    allowed_inviters: tuple[str, ...] = ()
    trust_devices: str = "all"
    encryption: bool = True
    retry_max_seconds: float = 60.0


def _check_type(key: str, value: Any, expected: type | tuple[type, ...]) -> None:
    wanted = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in wanted:
        raise ConfigError(f"{key}: expected {_type_name(expected)}, got {value!r}")
    if not isinstance(value, wanted):
        raise ConfigError(f"{key}: expected {_type_name(expected)}, got {value!r}")


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "text", bool: "true or false", list: "a list", int: "a number"}
    if isinstance(expected, tuple):
        return " or ".join(names.get(t, t.__name__) for t in expected)
    return names.get(expected, expected.__name__)


def parse_config(
    data: dict[str, Any], env: dict[str, str] | None = None, *, need_secrets: bool = True
) -> Config:
    """The configuration; `need_secrets=False` for maintenance commands (migrations, exports),
    which never log in to a platform and so do not need the adapters' tokens."""
    env = dict(os.environ) if env is None else env
    for section, value in data.items():
        if section not in _SCHEMA:
            raise ConfigError(f"{section}: unknown section (known: {', '.join(_SCHEMA)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{section}: expected a [{section}] table")
        if section == "protocols":
            continue
        for key, item in value.items():
            if key not in _SCHEMA[section]:
                raise ConfigError(f"{section}.{key}: unknown key")
            _check_type(f"{section}.{key}", item, _SCHEMA[section][key])
    main = data.get("cercle", {})
    defaults_data = data.get("defaults", {})

    level = main.get("log_level", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"cercle.log_level: expected one of {', '.join(LOG_LEVELS)}")
    log_format = main.get("log_format", "text")
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"cercle.log_format: expected one of {', '.join(LOG_FORMATS)}")
    adapters = tuple(main.get("adapters", ["console"]))
    for name in adapters:
        if name not in ADAPTERS:
            raise ConfigError(
                f"cercle.adapters: unknown adapter {name!r} (known: {', '.join(ADAPTERS)})"
            )

    database_url = None
    if "database_url_env" in main:
        var = main["database_url_env"]
        database_url = env.get(var)
        if not database_url:
            raise ConfigError(f"cercle.database_url_env: the environment variable {var} is not set")

    data_dir = Path(env.get(DATA_DIR_ENV) or main.get("data_dir") or DEFAULT_DATA_DIR)

    settings = CircleSettings()
    language = defaults_data.get("language", settings.language)
    if language not in LANGUAGES:
        raise ConfigError(f"defaults.language: expected one of {', '.join(LANGUAGES)}")
    zone = defaults_data.get("timezone", settings.timezone)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"defaults.timezone: unknown time zone {zone!r}") from None
    order = defaults_data.get("queue_order", settings.queue_order.value)
    if order not in ("fair", "arrival"):
        raise ConfigError("defaults.queue_order: expected 'fair' or 'arrival'")

    protocols: dict[str, Protocol] = {}
    for name, body in data.get("protocols", {}).items():
        if not isinstance(body, dict):
            raise ConfigError(f"protocols.{name}: expected a table with [[protocols.{name}.phase]]")
        unknown = set(body) - {"phase", "topic_minutes", "extend_minutes"}
        if unknown:
            raise ConfigError(f"protocols.{name}.{sorted(unknown)[0]}: unknown key")
        try:
            protocols[name] = protocol_from_mapping(name, body)
        except ProtocolError as error:
            raise ConfigError(f"protocols.{name}: {error}") from None
    protocol = defaults_data.get("protocol", settings.protocol)
    if ProtocolBook(protocols).get(protocol) is None:
        raise ConfigError(f"defaults.protocol: unknown protocol {protocol!r}")
    retention_days = defaults_data.get("retention_days", settings.retention_days)
    if not 0 <= retention_days <= 3650:
        raise ConfigError("defaults.retention_days: expected a number of days from 0 to 3650")

    defaults = CircleSettings(
        language=language,
        timezone=zone,
        protocol=protocol,
        queue_order=QueueOrder(order),
        round_auto_advance=defaults_data.get("round_auto_advance", settings.round_auto_advance),
        phase_auto_advance=defaults_data.get("phase_auto_advance", settings.phase_auto_advance),
        recap_approval=defaults_data.get("recap_approval", settings.recap_approval),
        retention_days=retention_days,
    )
    matrix = _matrix(data.get("matrix"), env, need_secrets) if "matrix" in adapters else None
    wants_discord = "discord" in adapters
    discord = (
        discord_section(data.get("discord") or {}, env, need_token=wants_discord and need_secrets)
        if wants_discord or "discord" in data
        else None
    )
    return Config(
        matrix=matrix,
        discord=discord,
        console=console_section(data.get("console") or {}),
        metrics=_metrics(data.get("metrics") or {}),
        web=web_section(data.get("web") or {}, env),
        data_dir=data_dir,
        database_url=database_url,
        log_level=level,
        log_format=log_format,
        adapters=adapters,
        defaults=defaults,
        protocols=protocols,
    )


def discord_section(
    section: dict[str, Any], env: dict[str, str], need_token: bool = True
) -> DiscordConfig:
    var = section.get("token_env", "CERCLE_DISCORD_TOKEN")
    token = env.get(var)
    if need_token and not token:
        raise ConfigError(f"discord.token_env: the environment variable {var} is not set")
    guilds = section.get("guild_ids", [])
    if not all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in guilds):
        raise ConfigError("discord.guild_ids: expected a list of server ids (numbers)")
    roles = section.get("facilitator_roles", [])
    if not all(isinstance(r, str) and r for r in roles):
        raise ConfigError("discord.facilitator_roles: expected a list of role names")
    shard_count = section.get("shard_count")
    shard_ids = section.get("shard_ids")
    if shard_count is not None and not 1 <= shard_count <= 10_000:
        raise ConfigError("discord.shard_count: expected a number of shards from 1 to 10000")
    if shard_ids is not None:
        if shard_count is None:
            raise ConfigError("discord.shard_ids: needs discord.shard_count too")
        if not shard_ids or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < shard_count
            for i in shard_ids
        ):
            raise ConfigError(
                f"discord.shard_ids: expected a list of shard numbers from 0 to {shard_count - 1}"
            )
    return DiscordConfig(
        token=token or None,
        guild_ids=tuple(guilds),
        facilitator_roles=tuple(roles),
        shard_count=shard_count,
        shard_ids=tuple(sorted(set(shard_ids))) if shard_ids is not None else None,
        hide_facilitator_commands=bool(section.get("hide_facilitator_commands", False)),
    )


def console_section(section: dict[str, Any]) -> ConsoleConfig:
    account = section.get("account", "local")
    if not account or not all(c.isalnum() or c in "-_." for c in account):
        raise ConfigError("console.account: expected letters, digits, '-', '_' or '.'")
    return ConsoleConfig(account=account)


def _metrics(section: dict[str, Any]) -> MetricsConfig:
    port = section.get("port", 9464)
    if not 1 <= port <= 65535:
        raise ConfigError("metrics.port: expected a port number from 1 to 65535")
    host = section.get("host", "127.0.0.1")
    if not host:
        raise ConfigError("metrics.host: expected an address such as 127.0.0.1")
    return MetricsConfig(enabled=section.get("enabled", False), host=host, port=port)


def web_section(section: dict[str, Any], env: dict[str, str]) -> WebConfig:
    port = section.get("port", 8080)
    if not 1 <= port <= 65535:
        raise ConfigError("web.port: expected a port number from 1 to 65535")
    host = section.get("host", "127.0.0.1")
    if not host:
        raise ConfigError("web.host: expected an address such as 127.0.0.1")
    base_url = section.get("base_url", f"http://{host}:{port}").rstrip("/")
    if not base_url.startswith(("http://", "https://")) or "?" in base_url or "#" in base_url:
        raise ConfigError("web.base_url: expected a URL such as https://cercle.example.org")
    var = section.get("secret_env", "CERCLE_WEB_SECRET")
    secret = env.get(var) or None
    if secret is not None and len(secret.encode()) < 16:
        raise ConfigError(f"web.secret_env: the secret in {var} is too short (16 bytes at least)")
    return WebConfig(
        enabled=section.get("enabled", False),
        host=host,
        port=port,
        base_url=base_url,
        secret_env=var,
        secret=secret,
    )


def _matrix(
    section: dict[str, Any] | None, env: dict[str, str], need_secrets: bool = True
) -> MatrixConfig:
    if not section:
        raise ConfigError("matrix: the matrix adapter needs a [matrix] section")
    for key in ("homeserver", "user_id"):
        if key not in section:
            raise ConfigError(f"matrix.{key}: missing")
    homeserver = section["homeserver"]
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigError("matrix.homeserver: expected a URL starting with https://")
    user_id = section["user_id"]
    if not (user_id.startswith("@") and ":" in user_id):
        raise ConfigError("matrix.user_id: expected a full user id such as @cercle:example.org")
    token_var = section.get("access_token_env", "CERCLE_MATRIX_TOKEN")
    password_var = section.get("password_env", "CERCLE_MATRIX_PASSWORD")
    token, password = env.get(token_var), env.get(password_var)
    if not token and not password and need_secrets:
        raise ConfigError(
            f"matrix.access_token_env: neither {token_var} nor {password_var} is set "
            "in the environment"
        )
    trust = section.get("trust_devices", "all")
    if trust not in TRUST_MODES:
        raise ConfigError(f"matrix.trust_devices: expected one of {', '.join(TRUST_MODES)}")
    inviters = section.get("allowed_inviters", [])
    if not all(isinstance(i, str) and i for i in inviters):
        raise ConfigError("matrix.allowed_inviters: expected a list of user ids or server names")
    retry = float(section.get("retry_max_seconds", 60.0))
    if retry <= 0:
        raise ConfigError("matrix.retry_max_seconds: expected a positive number")
    return MatrixConfig(
        homeserver=homeserver.rstrip("/"),
        user_id=user_id,
        device_id=section.get("device_id", "CERCLE"),
        access_token=token or None,
        password=password or None,
        allowed_inviters=tuple(inviters),
        trust_devices=trust,
        encryption=section.get("encryption", True),
        retry_max_seconds=retry,
    )


def load_config(
    path: Path | None, env: dict[str, str] | None = None, *, need_secrets: bool = True
) -> Config:
    if path is None:
        return parse_config({}, env, need_secrets=need_secrets)
    try:
        text = path.read_text("utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    return parse_config(data, env, need_secrets=need_secrets)
