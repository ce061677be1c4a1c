"""Localized strings: both languages complete, with the same placeholders; every key the
command core and schedules use exists."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from bot.lang.strings import STRINGS, format_date, norm_lang, placeholders, t

ROOT = Path(__file__).resolve().parents[1]


def test_same_keys_in_both_languages() -> None:
    assert set(STRINGS["id"]) == set(STRINGS["en"])


@pytest.mark.parametrize("key", sorted(STRINGS["en"]))
def test_same_placeholders(key: str) -> None:
    assert placeholders(STRINGS["id"][key]) == placeholders(STRINGS["en"][key])
    assert STRINGS["id"][key].strip()


def test_keys_used_in_code_exist() -> None:
    used: set[str] = set()
    names = [f"commands/{p.name}" for p in sorted((ROOT / "bot" / "commands").glob("*.py"))]
    for name in (*names, "delivery.py", "digest_schedule.py"):
        src = (ROOT / "bot" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r'CommandError\(\s*"(\w+)"', src))
        used |= set(re.findall(r'PermissionDenied\(\s*"(\w+)"', src))
        used |= set(re.findall(r'_t\(\s*"(\w+)"', src))
    assert len(used) > 40
    missing = sorted(k for k in used if k not in STRINGS["en"])
    assert missing == []


def test_t_falls_back_and_formats() -> None:
    assert t("not_admin", "id", command="subscribe").startswith("Hanya admin")
    assert t("not_admin", "en-US", command="subscribe").startswith("Only admins")
    # A template's own {lang} placeholder does not clash with the language argument.
    body = t(
        "settings_body",
        "en",
        lang="English",
        schedule="daily",
        tz="UTC",
        keywords="-",
        max=5,
        next="-",
        state="ok",
    )
    assert "Language: English" in body


def test_norm_lang() -> None:
    assert norm_lang(None) == "id"
    assert norm_lang("en-GB") == "en"
    assert norm_lang("ms") == "id"
    assert norm_lang("fr") == "en"


def test_format_date() -> None:
    assert format_date(datetime(2026, 5, 24), "id") == "24 Mei 2026"  # noqa: DTZ001
    assert format_date(datetime(2026, 5, 24), "en") == "24 May 2026"  # noqa: DTZ001
