"""The README promises what the code declares: its real-model table is the catalogue's,
and every path and command it links to exists."""

from __future__ import annotations

import re
from pathlib import Path

from animatecli.catalogue import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    """The README's ``## title`` section, up to the next ``## `` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_real_model_table_is_the_catalogue() -> None:
    rows = re.findall(
        r"^\| `([\w-]+)` \| (FOMM|TPSMM) ([\w-]+) \| (faces|bodies) \| `([^`]+)` \| "
        r"([\d,]+|not known yet) \|$",
        section("Real models"),
        flags=re.MULTILINE,
    )
    assert len(rows) == len(CATALOGUE)
    for (name, family, config, domain, file_name, size), entry in zip(rows, CATALOGUE, strict=True):
        assert (name, family.lower(), config, file_name) == (
            entry.name,
            entry.family,
            entry.config,
            entry.file_name,
        )
        assert domain == {"face": "faces", "body": "bodies"}[entry.domain]
        assert size == ("not known yet" if entry.size is None else f"{entry.size:,}")


def test_the_quickstart_fetches_a_catalogue_model() -> None:
    quickstart = section("Quickstart")
    fetched = re.search(r"animate models fetch ([\w-]+)", quickstart)
    used = re.search(r"--checkpoint ([\w-]+)", quickstart)
    assert fetched and used and fetched[1] == used[1]
    assert fetched[1] in {entry.name for entry in CATALOGUE}


def test_every_linked_file_exists() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    assert links
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert missing == []
