"""The page's own files name nothing outside the server that serves them."""

from __future__ import annotations

import re

from animatecli.serve.app import STATIC_DIR

# Absolute or protocol-relative URLs, and CSS imports, anywhere in the page's files.
EXTERNAL = re.compile(r"(?:https?:|wss?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}|@import")


def test_the_pattern_finds_what_it_is_for() -> None:
    for text in ("https://cdn.example.org/x.js", "//fonts.example.com/css", "@import 'x.css'"):
        assert EXTERNAL.search(text), text
    assert not EXTERNAL.search("// a comment about the page, /static/app.js")


def test_the_page_refers_to_nothing_outside_its_server() -> None:
    files = sorted(STATIC_DIR.iterdir())
    assert {f.name for f in files} == {"index.html", "app.js", "style.css"}
    for path in files:
        found = EXTERNAL.findall(path.read_text())
        assert not found, f"{path.name}: {found}"


def test_the_page_loads_only_its_own_script_and_style() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    assert re.findall(r'<script[^>]*src="([^"]+)"', html) == ["/static/app.js"]
    assert re.findall(r'<link[^>]*href="([^"]+)"', html) == ["data:,", "/static/style.css"]
    assert "<iframe" not in html
