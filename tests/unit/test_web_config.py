"""The `[web]` section and where the links' secret comes from."""

from __future__ import annotations

import stat
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.config import ConfigError, parse_config
from adapters.logs import secrets_of
from adapters.web.links import SECRET_FILE, link_issuer


def test_web_pages_are_off_by_default_on_loopback() -> None:
    web = parse_config({}, {}).web
    assert (web.enabled, web.host, web.port) == (False, "127.0.0.1", 8080)
    assert web.base_url == "http://127.0.0.1:8080"
    assert web.secret is None


def test_the_section_is_read_and_the_secret_hidden() -> None:
    secret = "s3cret-value-that-is-long-enough"
    config = parse_config(
        {
            "web": {
                "enabled": True,
                "port": 8443,
                "base_url": "https://cercle.example.org/",
                "secret_env": "MY_SECRET",
            }
        },
        {"MY_SECRET": secret},
    )
    assert config.web.enabled
    assert config.web.base_url == "https://cercle.example.org"
    assert config.web.secret == secret
    assert secret not in repr(config)
    assert secret in secrets_of(config)  # the log filter replaces it by ***


@pytest.mark.parametrize(
    ("section", "env", "message"),
    [
        ({"port": 0}, {}, "web.port: expected a port number"),
        ({"port": "80"}, {}, "web.port: expected a number"),
        ({"base_url": "ftp://x"}, {}, "web.base_url: expected a URL"),
        ({"base_url": "https://x/?a=1"}, {}, "web.base_url: expected a URL"),
        ({"enabled": "yes"}, {}, "web.enabled: expected true or false"),
        ({"colour": 1}, {}, "web.colour: unknown key"),
        ({}, {"CERCLE_WEB_SECRET": "short"}, "web.secret_env: the secret in CERCLE_WEB_SECRET"),
    ],
)
def test_mistakes_name_the_key(
    section: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"web": section}, env)
    assert message in str(caught.value)


def test_links_come_with_the_pages_or_the_console_only(tmp_path: Path) -> None:
    console = parse_config({"cercle": {"data_dir": str(tmp_path)}}, {})
    issuer = link_issuer(console)
    assert issuer is not None
    assert issuer.base_url == "http://127.0.0.1:8080"
    secret_file = tmp_path / SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    again = link_issuer(console)
    assert again is not None
    token = issuer.signer.form_key("x")
    assert again.signer.form_key("x") == token  # the same secret, read back

    discord = replace(console, adapters=("discord",))
    assert link_issuer(discord) is None  # a bot without pages gives no links
    pages = replace(discord, web=replace(discord.web, enabled=True, secret="from the environment"))
    from_env = link_issuer(pages)
    assert from_env is not None
    assert from_env.signer.form_key("x") != token
