"""Configuration: every mistake stops start-up with one line that names the key."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.config import ConfigError, console_section, load_config, parse_config
from tests.cli import run_cercle

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_configuration_is_valid() -> None:
    config = load_config(ROOT / "config.example.toml", env={})
    assert config.defaults.language == "fr"
    assert config.defaults.timezone == "Europe/Paris"
    assert config.adapters == ("console",)
    assert config.defaults.retention_days == 365
    assert config.defaults.recap_approval is False


def test_custom_protocol_is_offered_next_to_the_builtin_ones() -> None:
    config = parse_config(
        {
            "protocols": {
                "intervision": {
                    "phase": [
                        {"key": "meteo", "mode": "round", "minutes": 10, "turn_minutes": 2},
                        {"key": "cas", "title": "Le cas du jour", "mode": "single"},
                    ]
                }
            },
            "defaults": {"protocol": "intervision"},
        },
        env={},
    )
    book = config.protocol_book()
    assert book.names() == ["codev", "intervision", "leancoffee", "libre", "meteo"]
    protocol = book.get("intervision")
    assert protocol is not None
    assert [p.key for p in protocol.phases] == ["meteo", "cas"]


@pytest.mark.parametrize(
    ("data", "env", "message"),
    [
        ({"cercle": {"colour": "blue"}}, {}, "cercle.colour: unknown key"),
        ({"cerlce": {}}, {}, "cerlce: unknown section"),
        ({"cercle": {"log_level": 3}}, {}, "cercle.log_level: expected text, got 3"),
        ({"defaults": {"timezone": "Europe/Pariss"}}, {}, "defaults.timezone: unknown time zone"),
        ({"defaults": {"language": "de"}}, {}, "defaults.language: expected one of fr, en"),
        ({"defaults": {"round_auto_advance": "yes"}}, {}, "defaults.round_auto_advance"),
        ({"defaults": {"retention_days": -1}}, {}, "defaults.retention_days: expected a number"),
        ({"defaults": {"retention_days": True}}, {}, "defaults.retention_days: expected a num"),
        ({"defaults": {"recap_approval": 1}}, {}, "defaults.recap_approval: expected true or"),
        (
            {"cercle": {"database_url_env": "CERCLE_DB"}},
            {},
            "cercle.database_url_env: the environment variable CERCLE_DB is not set",
        ),
        ({"cercle": {"adapters": ["irc"]}}, {}, "cercle.adapters: unknown adapter 'irc'"),
        (
            {"protocols": {"x": {"phase": [{"key": "a", "mode": "circle"}]}}},
            {},
            "protocols.x: protocol 'x', phase 1: 'mode' must be one of",
        ),
        (
            {"protocols": {"x": {"phase": [{"key": "a", "minutes": -5}]}}},
            {},
            "'minutes': expected a positive number",
        ),
    ],
)
def test_mistakes_name_the_key(data: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, env)
    assert message in str(caught.value)


def test_the_secret_comes_from_the_environment() -> None:
    config = parse_config(
        {"cercle": {"database_url_env": "CERCLE_DB"}}, {"CERCLE_DB": "sqlite+aiosqlite:///x.db"}
    )
    assert config.database_url == "sqlite+aiosqlite:///x.db"


def test_a_bad_file_stops_start_up_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "cercle.toml"
    bad.write_text('[defaults]\ntimezone = "Mars/Olympus"\n', "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "--config", str(bad), "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cercle: configuration error: defaults.timezone: unknown time zone 'Mars/Olympus'"
    ]
    assert "Traceback" not in result.stderr


def test_invalid_toml_is_one_line_too(tmp_path: Path) -> None:
    bad = tmp_path / "cercle.toml"
    bad.write_text("[cercle\n", "utf-8")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_config(bad, env={})


def test_matrix_section_takes_the_token_from_the_environment() -> None:
    config = parse_config(
        {
            "cercle": {"adapters": ["matrix"]},
            "matrix": {"homeserver": "https://matrix.example.org", "user_id": "@c:example.org"},
        },
        {"CERCLE_MATRIX_TOKEN": "secret-token"},
    )
    assert config.matrix is not None
    assert config.matrix.access_token == "secret-token"
    assert "secret-token" not in repr(config)


@pytest.mark.parametrize(
    ("section", "env", "message"),
    [
        ({}, {}, "matrix: the matrix adapter needs a [matrix] section"),
        ({"homeserver": "https://m.org"}, {}, "matrix.user_id: missing"),
        (
            {"homeserver": "matrix.org", "user_id": "@c:m.org"},
            {"CERCLE_MATRIX_TOKEN": "t"},
            "matrix.homeserver: expected a URL",
        ),
        (
            {"homeserver": "https://m.org", "user_id": "@c:m.org"},
            {},
            "matrix.access_token_env: neither CERCLE_MATRIX_TOKEN nor CERCLE_MATRIX_PASSWORD",
        ),
        (
            {"homeserver": "https://m.org", "user_id": "@c:m.org", "trust_devices": "some"},
            {"CERCLE_MATRIX_TOKEN": "t"},
            "matrix.trust_devices: expected one of all, tofu",
        ),
    ],
)
def test_matrix_mistakes_name_the_key(
    section: dict[str, object], env: dict[str, str], message: str
) -> None:
    data: dict[str, object] = {"cercle": {"adapters": ["matrix"]}}
    if section:
        data["matrix"] = section
    with pytest.raises(ConfigError) as caught:
        parse_config(data, env)
    assert message in str(caught.value)


def test_discord_needs_its_token_only_when_it_runs() -> None:
    with pytest.raises(ConfigError, match=r"discord\.token_env: the environment variable"):
        parse_config({"cercle": {"adapters": ["discord"]}}, {})
    config = parse_config(
        {"cercle": {"adapters": ["discord"]}, "discord": {"guild_ids": [42]}},
        {"CERCLE_DISCORD_TOKEN": "tok"},
    )
    assert config.discord is not None
    assert config.discord.guild_ids == (42,)
    assert "tok" not in repr(config)
    with pytest.raises(ConfigError, match=r"discord\.guild_ids"):
        parse_config({"discord": {"guild_ids": ["x"]}}, {})


def test_maintenance_commands_need_no_platform_token(tmp_path: Path) -> None:
    config = tmp_path / "cercle.toml"
    config.write_text(
        '[cercle]\nadapters = ["matrix"]\n'
        '[matrix]\nhomeserver = "https://matrix.example.org"\nuser_id = "@cercle:example.org"\n',
        "utf-8",
    )

    def cercle(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cercle("--config", str(config), *args)

    upgraded = cercle("--data-dir", str(tmp_path / "data"), "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == "database up to date"
    running = cercle("--data-dir", str(tmp_path / "data"), "run")
    assert running.returncode == 2
    assert "matrix.access_token_env: neither CERCLE_MATRIX_TOKEN nor" in running.stderr


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"web": {"port": True}}, "web.port: expected a number, got True"),
        ({"metrics": {"port": 1.5}}, "metrics.port: expected a number, got 1.5"),
        ({"metrics": {"port": 70000}}, "metrics.port: expected a port number from 1 to 65535"),
        ({"metrics": {"host": ""}}, "metrics.host: expected an address such as 127.0.0.1"),
        ({"web": {"colour": "blue"}}, "web.colour: unknown key"),
        ({"web": {"secret": "s3cret-value-that-is-long"}}, "web.secret: unknown key"),
        ({"web": {"host": ""}}, "web.host: expected an address such as 127.0.0.1"),
        (
            {"web": {"base_url": "https://x/#top"}},
            "web.base_url: expected a URL such as https://cercle.example.org",
        ),
        ({"web": []}, "web: expected a [web] table"),
        (
            {"discord": {"guild_ids": ["x"]}},
            "discord.guild_ids: expected a list of server ids (numbers)",
        ),
        (
            {"discord": {"guild_ids": [True]}},
            "discord.guild_ids: expected a list of server ids (numbers)",
        ),
        ({"discord": {"guild_ids": 42}}, "discord.guild_ids: expected a list, got 42"),
        ({"discord": {"token": "abc"}}, "discord.token: unknown key"),
        (
            {"discord": {"facilitator_roles": [""]}},
            "discord.facilitator_roles: expected a list of role names",
        ),
        (
            {"discord": {"shard_count": 0}},
            "discord.shard_count: expected a number of shards from 1 to 10000",
        ),
        ({"discord": {"shard_count": False}}, "discord.shard_count: expected a number, got False"),
        ({"discord": {"shard_ids": [0]}}, "discord.shard_ids: needs discord.shard_count too"),
        (
            {"discord": {"shard_count": 2, "shard_ids": [2]}},
            "discord.shard_ids: expected a list of shard numbers from 0 to 1",
        ),
        (
            {"discord": {"shard_count": 2, "shard_ids": []}},
            "discord.shard_ids: expected a list of shard numbers from 0 to 1",
        ),
        (
            {"discord": {"shard_count": 3, "shard_ids": ["1"]}},
            "discord.shard_ids: expected a list of shard numbers from 0 to 2",
        ),
        (
            {"discord": {"hide_facilitator_commands": 1}},
            "discord.hide_facilitator_commands: expected true or false, got 1",
        ),
        (
            {"defaults": {"retention_days": -1}},
            "defaults.retention_days: expected a number of days from 0 to 3650",
        ),
        (
            {"defaults": {"retention_days": 3651}},
            "defaults.retention_days: expected a number of days from 0 to 3650",
        ),
        (
            {"defaults": {"retention_days": True}},
            "defaults.retention_days: expected a number, got True",
        ),
        (
            {"defaults": {"queue_order": "random"}},
            "defaults.queue_order: expected 'fair' or 'arrival'",
        ),
        ({"defaults": {"queue_order": 1}}, "defaults.queue_order: expected text, got 1"),
        (
            {"defaults": {"protocol": "intervision"}},
            "defaults.protocol: unknown protocol 'intervision'",
        ),
        (
            {"cercle": {"log_level": "verbose"}},
            "cercle.log_level: expected one of DEBUG, INFO, WARNING, ERROR",
        ),
        ({"cercle": {"log_format": "xml"}}, "cercle.log_format: expected one of text, json"),
        ({"cercle": {"adapters": "console"}}, "cercle.adapters: expected a list, got 'console'"),
        (
            {"cercle": {"adapters": [3]}},
            "cercle.adapters: unknown adapter 3 (known: console, matrix, discord)",
        ),
        ({"cercle": {"data_dir": 7}}, "cercle.data_dir: expected text, got 7"),
        (
            {"console": {"account": "two words"}},
            "console.account: expected letters, digits, '-', '_' or '.'",
        ),
        (
            {"cerlce": {}},
            "cerlce: unknown section"
            " (known: cercle, defaults, protocols, discord, console, metrics, web, matrix)",
        ),
        ({"protocols": {"x": {"phase": [], "colour": 1}}}, "protocols.x.colour: unknown key"),
        # an unused adapter's table is checked for its keys and types, in the file's order
        (
            {"matrix": {"encryption": "no", "colour": 1}},
            "matrix.encryption: expected true or false, got 'no'",
        ),
        (
            {"web": {"port": 0}, "metrics": {"port": "x"}},
            "metrics.port: expected a number, got 'x'",
        ),
    ],
)
def test_each_mistake_is_told_in_exactly_one_line(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, {})
    assert str(caught.value) == message


MATRIX = {"homeserver": "https://m.org", "user_id": "@c:m.org"}


@pytest.mark.parametrize(
    ("section", "env", "message"),
    [
        ({"user_id": "@c:m.org"}, {}, "matrix.homeserver: missing"),
        (
            {**MATRIX, "user_id": "cercle"},
            {},
            "matrix.user_id: expected a full user id such as @cercle:example.org",
        ),
        (
            {**MATRIX, "retry_max_seconds": 0},
            {},
            "matrix.retry_max_seconds: expected a positive number",
        ),
        (
            {**MATRIX, "retry_max_seconds": True},
            {},
            "matrix.retry_max_seconds: expected a number or float, got True",
        ),
        (
            {**MATRIX, "allowed_inviters": [""]},
            {},
            "matrix.allowed_inviters: expected a list of user ids or server names",
        ),
        ({**MATRIX, "trust_devices": 1}, {}, "matrix.trust_devices: expected text, got 1"),
        ({**MATRIX, "password": "p"}, {}, "matrix.password: unknown key"),
        (
            {**MATRIX, "password_env": "PW"},
            {"CERCLE_MATRIX_TOKEN": "", "PW": ""},
            "matrix.access_token_env: neither CERCLE_MATRIX_TOKEN nor PW is set in the environment",
        ),
    ],
)
def test_each_matrix_mistake_is_told_in_exactly_one_line(
    section: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            {"cercle": {"adapters": ["matrix"]}, "matrix": section},
            {"CERCLE_MATRIX_TOKEN": "t", **env},
        )
    assert str(caught.value) == message


def test_the_sections_keep_their_types_and_hide_their_secrets() -> None:
    config = parse_config(
        {
            "cercle": {"adapters": ["matrix", "discord"], "log_level": "debug"},
            "matrix": {**MATRIX, "homeserver": "https://m.org/", "retry_max_seconds": 5},
            "discord": {"shard_count": 4, "shard_ids": [3, 1, 3], "facilitator_roles": ["anim"]},
            "web": {"secret_env": "WEB", "host": "0.0.0.0", "port": 9000},
        },
        {"CERCLE_MATRIX_PASSWORD": "pass-word", "CERCLE_DISCORD_TOKEN": "d-token", "WEB": "w" * 16},
    )
    assert config.log_level == "DEBUG"
    assert config.adapters == ("matrix", "discord")
    assert config.matrix is not None
    assert config.discord is not None
    assert (config.matrix.homeserver, config.matrix.retry_max_seconds) == ("https://m.org", 5.0)
    assert isinstance(config.matrix.retry_max_seconds, float)
    assert (config.matrix.password, config.matrix.access_token) == ("pass-word", None)
    assert (config.discord.shard_ids, config.discord.facilitator_roles) == ((1, 3), ("anim",))
    assert config.web.base_url == "http://0.0.0.0:9000"
    assert isinstance(config.data_dir, Path)
    shown = repr(config)
    assert not any(s in shown for s in ("pass-word", "d-token", "w" * 16))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.web.port = 1  # type: ignore[misc]
    moved = dataclasses.replace(config.web, port=9001)
    assert (moved.port, moved.secret) == (9001, "w" * 16)


def test_an_unused_adapters_table_is_only_checked_for_keys_and_types() -> None:
    config = parse_config({"matrix": {"encryption": False}}, {})
    assert config.matrix is None


def test_a_wrong_account_on_the_command_line_is_one_line_too() -> None:
    with pytest.raises(ConfigError) as caught:
        console_section({"account": "a/b"})
    assert str(caught.value) == "console.account: expected letters, digits, '-', '_' or '.'"


KEYS = {
    "cercle": ["data_dir", "database_url_env", "log_level", "log_format", "adapters"],
    "defaults": ["language", "timezone", "protocol", "queue_order", "retention_days"],
    "discord": ["token_env", "guild_ids", "facilitator_roles", "shard_count", "shard_ids"],
    "console": ["account"],
    "metrics": ["enabled", "host", "port"],
    "web": ["enabled", "host", "port", "base_url", "secret_env"],
    "matrix": ["homeserver", "user_id", "allowed_inviters", "trust_devices", "retry_max_seconds"],
}


@pytest.mark.parametrize(
    ("section", "key"), [(section, key) for section, keys in KEYS.items() for key in keys]
)
def test_no_value_gets_a_message_in_the_validators_words(section: str, key: str) -> None:
    data: dict[str, dict[str, object]] = {"cercle": {"adapters": ["matrix", "discord"]}}
    data["matrix"] = dict(MATRIX)
    for value in ["", "x", 0, -1, 1.5, True, [], ["x"], [0], [True], {}, {"a": 1}]:
        data.setdefault(section, {})[key] = value
        try:
            parse_config(data, {"CERCLE_MATRIX_TOKEN": "t", "CERCLE_DISCORD_TOKEN": "t"})
        except ConfigError as error:
            told = str(error)
            assert "\n" not in told
            assert told.startswith(f"{section}.{key}: ")
            assert not any(w in told.lower() for w in ("input should", "pydantic", "validation"))
