"""Every message exists in French and English, with the same fields."""

from __future__ import annotations

import re
from pathlib import Path

from bot.i18n.catalog import CatalogTranslator, placeholders
from bot.registry import COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def test_both_catalogs_have_the_same_keys_and_fields() -> None:
    tr = CatalogTranslator()
    assert tr.keys("fr") == tr.keys("en")
    for key in tr.keys("fr"):
        assert placeholders(tr.template("fr", key)) == placeholders(tr.template("en", key)), key


def test_english_says_session_not_seance() -> None:
    tr = CatalogTranslator()
    french_word = [key for key in tr.keys("en") if "séance" in tr.template("en", key).casefold()]
    assert french_word == []


def test_every_key_used_in_the_code_exists() -> None:
    tr = CatalogTranslator()
    used: set[str] = set()
    pattern = re.compile(
        r"""(?:Refusal|say|tell|\bt|text)\(\s*(?:[\w.]+,\s*)*"([a-z_]+\.[a-z_.]+)\""""
    )
    for path in (ROOT / "bot").rglob("*.py"):
        used.update(pattern.findall(path.read_text("utf-8")))
    assert used, "the pattern found no keys"
    missing = sorted(k for k in used if not tr.has("fr", k))
    assert missing == []


def test_every_command_has_help_in_both_languages() -> None:
    tr = CatalogTranslator()
    keys = []
    for spec in COMMANDS:
        if spec.handler is not None:
            keys.append(spec.key)
        keys.extend(sub.key for sub in spec.subcommands)
    for key in keys:
        assert tr.has("fr", f"help.{key}"), key
        assert tr.has("en", f"help.{key}"), key


def test_dates_are_written_out_in_the_circle_language() -> None:
    from datetime import UTC, datetime

    tr = CatalogTranslator()
    instant = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert tr.datetime_text("fr", "Europe/Paris", instant) == "mardi 1 décembre 2026 à 14:00"
    assert tr.datetime_text("en", "Europe/Paris", instant) == "Tuesday 1 December 2026 at 14:00"
