"""Configuration: every mistake stops start-up with one line that names the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from adapters.config import ConfigError, load_config, parse_config
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
