from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.logsafe import TokenMaskFilter, mask_secrets, register_secret

ROOT = Path(__file__).resolve().parents[1]
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


def test_registered_secret_is_masked_in_any_case_and_url_encoded() -> None:
    secret = "424242:Zq-SecretPart_of_a_token_0123456789"
    register_secret(secret)
    text = (
        f"GET /bot{secret}/getMe | {secret.upper()} | {secret.lower()} | "
        f"{quote(secret, safe='')} | {quote(secret, safe='').lower()} | /BOT{secret.upper()}/GETME"
    )
    masked = mask_secrets(text)
    assert "SecretPart".lower() not in masked.lower()
    assert masked.count("<secret>") == 6


def test_bot_path_form_is_masked_without_registration() -> None:
    # A token never registered (another process's, a typo'd one) still goes in the path form.
    text = "POST http://proxy/bot987654:AbCdEfGhIjKlMnOpQrStUvWxYz_0123456/sendMessage"
    assert "AbCdEf" not in mask_secrets(text)
    assert "AbCdEf" not in mask_secrets(text.replace(":", "%3A"))


@pytest.mark.parametrize("where", ["main", "thread", "loop"])
def test_uncaught_tracebacks_are_masked(tmp_path: Path, where: str) -> None:
    """What Python prints by itself (an uncaught exception at exit, in a thread, or a task
    nobody awaited) goes through the masking hooks once logging is set up."""
    secret = "sk-uncaught-secret-0042"
    script = f"""
import asyncio, gc, logging, threading
from bot.app import setup_logging
from bot.config import Settings
from bot.logsafe import install_loop_handler
setup_logging(Settings(llm_api_key={secret!r}))

def boom():
    raise RuntimeError("request to /v1/chat failed for key {secret.upper()}")

if {where!r} == "thread":
    t = threading.Thread(target=boom); t.start(); t.join()
elif {where!r} == "loop":
    async def main():
        install_loop_handler()
        async def task():
            boom()
        t = asyncio.ensure_future(task())
        await asyncio.sleep(0.05)
        del t
        gc.collect()
    asyncio.run(main())
else:
    boom()
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    output = result.stdout + result.stderr
    assert "RuntimeError" in output  # the traceback was printed...
    assert "<secret>" in output  # ...with the key masked
    assert secret.lower() not in output.lower()
