from __future__ import annotations

import logging

import pytest

from bot.logsafe import TokenMaskFilter, mask_secrets, register_secret

TELEGRAM = "123456789:AAHk7v2Jx9QeLqWmZp3RtY8uNc5bVd0sFgH"
DISCORD = "MTAxMjM0NTY3ODkwMTIzNDU2Nw.GhIjKl.abcdefghijklmnopqrstuvwxyz0123456789AB"


@pytest.mark.parametrize(
    "text",
    [
        f"POST https://api.telegram.org/bot{TELEGRAM}/sendMessage",
        f"token={TELEGRAM}",
        f"Authorization: Bot {DISCORD}",
    ],
)
def test_token_shapes_are_masked(text: str) -> None:
    masked = mask_secrets(text)
    assert TELEGRAM not in masked
    assert DISCORD not in masked


def test_registered_secret_of_any_shape_is_masked() -> None:
    register_secret("sk-local-llm-key-0001")
    assert "sk-local-llm-key-0001" not in mask_secrets("key sk-local-llm-key-0001 used")
    assert mask_secrets("at 12:30:00 nothing secret") == "at 12:30:00 nothing secret"


def test_filter_masks_messages_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(TokenMaskFilter())
    log = logging.getLogger("warta.test.logsafe")
    with caplog.at_level(logging.INFO, logger="warta.test.logsafe"):
        log.info("calling %s", f"https://x/bot{TELEGRAM}/getMe")
        try:
            raise RuntimeError(f"boom {DISCORD}")
        except RuntimeError:
            log.exception("failed")
    assert TELEGRAM not in caplog.text
    assert DISCORD not in caplog.text
    assert "failed" in caplog.text
