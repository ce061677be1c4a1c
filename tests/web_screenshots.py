"""The README's screenshots of the web pages, taken with the same headless Chromium as the tests.

    python -m tests.web_screenshots [OUT_DIR]     (default: docs/)

Serves the sample and history feeds (no hostile ones) exactly as tests/websupport.py does and
saves the English archive and stats pages at a desktop width.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from tests.websupport import LiveSite, chromium_driver


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        site = LiveSite(Path(tmp), hostile=False)
        site.start()
        try:
            with chromium_driver(
                shutil.which("chromium") or "/usr/bin/chromium",
                shutil.which("chromedriver") or "/usr/bin/chromedriver",
                Path(tmp) / "chromedriver.log",
            ) as driver:
                driver.set_window_size(1280, 1000)
                for path, name in (("/en/", "archive.png"), ("/en/stats", "stats.png")):
                    driver.get(site.url + path)
                    driver.save_screenshot(str(out / name))
                    print(out / name)
        finally:
            site.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
