"""`warta inspect`, `warta analyze` and `warta feeds` on the cases real use runs into, as a real
subprocess: what a poll computes shown per story, and clean errors instead of tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import warta

FEEDS = Path(__file__).parent / "data" / "feeds"
INSPECT_KEYS = {
    "key",
    "url",
    "title",
    "source",
    "text",
    "lang",
    "lang_confidence",
    "lang_by",
    "published",
    "relevance",
    "relevant",
    "matched",
    "bullets",
    "feed",
    "file",
    "parser",
}


def lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_inspect_takes_several_files_after_one_flag_and_shows_the_analysis(
    tmp_path: Path,
) -> None:
    lan, relative, cms = (
        str(FEEDS / "rss-bridge-lan.xml"),
        str(FEEDS / "relative-links.xml"),
        str(FEEDS / "cms-baca-juga.xml"),
    )
    result = warta("inspect", "--file", lan, relative, "--file", cms, tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = lines(result.stdout)
    assert [o["file"] for o in out] == [lan] * 7 + [relative] * 3 + [cms] * 3
    for o in out:
        assert set(o) == INSPECT_KEYS
        assert str(o["url"]).startswith("http")
    assert out[0]["url"] == "http://127.0.0.1:3000/?action=display&bridge=Galeri&item=1"
    assert out[7]["url"] == "https://studiocatatan.example/blog/2026/kredit-ilustrator"
    sora = out[10]
    assert sora["relevant"] is True
    assert sora["lang"] == "id"
    assert sora["lang_by"] == "text"
    assert isinstance(sora["lang_confidence"], float)
    assert 0 < sora["lang_confidence"] <= 1
    assert isinstance(sora["relevance"], float)
    assert sora["matched"]
    assert isinstance(sora["bullets"], list)
    assert len(sora["bullets"]) == 3
    assert str(sora["text"]).startswith("Jakarta - Sekelompok seniman")
    assert "Baca juga" not in str(sora["text"])
    assert sora["published"] == "2026-12-03T03:00:00+00:00"


def test_inspect_reports_unreadable_inputs_and_fails(tmp_path: Path) -> None:
    result = warta("inspect", "--file", str(tmp_path), str(tmp_path / "missing.xml"), tmp=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    out = lines(result.stdout)
    assert out == [
        {"file": str(tmp_path), "error": "is a directory, not a feed file"},
        {"file": str(tmp_path / "missing.xml"), "error": "no such file"},
    ]


def test_analyze_reads_html_and_gives_a_short_text_one_bullet(tmp_path: Path) -> None:
    records = [
        {
            "id": "html",
            "title": "Artists and the Algorithm",
            "text": (
                "<p>By Mary Lee</p><p>Illustrators say generative AI image tools were trained"
                " on their artwork without consent.</p><p>Read more: Unrelated story</p>"
                "<p>They want a share of the licensing money.</p>"
            ),
        },
        {
            "id": "short",
            "title": "Musisi protes lagu AI",
            "text": "Musisi memprotes lagu buatan AI yang meniru suara mereka",
        },
    ]
    stdin = "\n".join(json.dumps(r) for r in records) + "\n"
    result = warta("analyze", tmp=tmp_path, stdin=stdin)
    assert result.returncode == 0, result.stderr
    html, short = lines(result.stdout)
    assert html["bullets"]
    for bullet in html["bullets"]:
        assert "<" not in bullet
        assert "Mary Lee" not in bullet
        assert "Unrelated" not in bullet
    assert short["bullets"] == ["Musisi memprotes lagu buatan AI yang meniru suara mereka"]


def test_analyze_a_directory_is_a_clean_usage_error(tmp_path: Path) -> None:
    result = warta("analyze", str(tmp_path), tmp=tmp_path)
    assert result.returncode == 2
    assert "is a directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_feeds_export_to_a_missing_folder_is_a_clean_error(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "x.opml"
    result = warta("feeds", "export", str(target), tmp=tmp_path)
    assert result.returncode == 2
    assert f"cannot write {target}" in result.stderr
    assert "Traceback" not in result.stderr


def test_feeds_remove_of_a_feeds_file_feed_says_where_to_remove_it(tmp_path: Path) -> None:
    url = "https://listed.example/rss"
    (tmp_path / "feeds.toml").write_text(f'[[feed]]\nurl = "{url}"\nlang = "id"\n')
    assert warta("feeds", "list", tmp=tmp_path).returncode == 0
    result = warta("feeds", "remove", url, tmp=tmp_path)
    assert result.returncode == 1
    assert str(tmp_path / "feeds.toml") in result.stderr
    assert "removed" not in result.stdout
    assert url in warta("feeds", "list", tmp=tmp_path).stdout


def test_feeds_add_again_keeps_what_it_is_not_told_to_change(tmp_path: Path) -> None:
    url = "https://added.example/rss"
    assert (
        warta("feeds", "add", url, "--lang", "id", "--title", "Added", tmp=tmp_path).returncode == 0
    )
    again = warta("feeds", "add", url, tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    [row] = [
        line for line in warta("feeds", "list", tmp=tmp_path).stdout.splitlines() if url in line
    ]
    assert row.split("\t")[1:3] == ["id", "Added"]
    retitled = warta("feeds", "add", url, "--title", "Renamed", tmp=tmp_path)
    assert retitled.returncode == 0, retitled.stderr
    [row] = [
        line for line in warta("feeds", "list", tmp=tmp_path).stdout.splitlines() if url in line
    ]
    assert row.split("\t")[1:3] == ["id", "Renamed"]


def test_opml_import_reports_each_skipped_entry(tmp_path: Path) -> None:
    opml = tmp_path / "list.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Folder">'
        '<outline text="Good" type="rss" xmlUrl="https://good.example/rss"/>'
        '<outline text="Evil" type="rss" xmlUrl="javascript:alert(1)"/>'
        '<outline text="Local" type="rss" xmlUrl="file:///etc/passwd"/>'
        '<outline text="Empty" type="rss"/>'
        '<outline text="Good again" type="rss" xmlUrl="https://good.example/rss"/>'
        "</outline></body></opml>"
    )
    result = warta("feeds", "import", str(opml), tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "imported 1 feeds, skipped 4" in result.stdout
    skipped = result.stderr.splitlines()
    assert any("Evil" in s and "javascript" in s for s in skipped), skipped
    assert any("Local" in s and "file" in s for s in skipped), skipped
    assert any("Empty" in s and "no xmlUrl" in s for s in skipped), skipped
    assert any("Good again" in s and "listed twice" in s for s in skipped), skipped


def test_inspect_url_of_a_bridge_on_loopback(tmp_path: Path) -> None:
    """A real HTTP server on 127.0.0.1 serves the bridge fixture; inspect fetches it by URL."""
    import http.server
    import threading

    body = (FEEDS / "rss-bridge-lan.xml").read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/bridge.xml"
        result = warta("inspect", url, tmp=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stdout + result.stderr
    out = lines(result.stdout)
    assert len(out) == 7
    assert out[0]["url"] == "http://127.0.0.1:3000/?action=display&bridge=Galeri&item=1"
    assert {o["source_url"] for o in out} == {url}
    assert {o["feed"] for o in out} == {url}
