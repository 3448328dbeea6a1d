"""The catalogue of released checkpoints (animatecli.catalogue): every entry names a family
and official config the engine has, the names, files and hashes are unique, and lookups and
the JSON form round-trip. The cache root is tested with fetching (tests/modelstore)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlparse

import pytest

from animatecli import catalogue
from animatecli.catalogue import CATALOGUE, CatalogueEntry
from animatecli.engine.registry import family_named


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_each_entry_names_a_family_and_official_config_the_engine_has(
    entry: CatalogueEntry,
) -> None:
    family = family_named(entry.family)
    assert entry.config in family.official_configs
    assert entry.name.startswith(f"{entry.family}-")
    assert entry.size is None or entry.size > 1_000_000  # real weights, not a page
    assert entry.mirrors, "a file nobody can fetch"
    for url in entry.mirrors:
        parsed = urlparse(url)
        assert parsed.scheme == "https" and parsed.netloc
        assert parsed.path.endswith(f"/{entry.file_name}")  # saved under the released name


def test_names_files_and_hashes_are_unique() -> None:
    for key in ("name", "file_name", "sha256"):
        values = [getattr(entry, key) for entry in CATALOGUE]
        assert len(set(values)) == len(values), key
    assert catalogue.names() == [entry.name for entry in CATALOGUE]
    assert catalogue.REAL_FACE_MODEL in catalogue.names()
    assert catalogue.find(catalogue.REAL_FACE_MODEL).domain == "face"  # type: ignore[union-attr]


def test_lookups_by_name_and_by_hash() -> None:
    for entry in CATALOGUE:
        assert catalogue.find(entry.name) is entry
        assert catalogue.find_by_sha256(entry.sha256) is entry
    assert catalogue.find("fomm-unknown") is None
    assert catalogue.find_by_sha256("0" * 64) is None


def test_the_json_form_rebuilds_the_entry() -> None:
    for entry in CATALOGUE:
        data = entry.to_dict()
        rebuilt = CatalogueEntry(
            **{
                **data,
                "mirrors": tuple(data["mirrors"]),
                "unlisted_mirrors": tuple(data["unlisted_mirrors"]),
            }
        )
        assert rebuilt == entry


def test_an_entry_needs_a_full_lowercase_hash_and_a_known_domain() -> None:
    entry = CATALOGUE[0]
    with pytest.raises(ValueError, match="a SHA-256 \\(64 hex digits\\) is required"):
        replace(entry, sha256=entry.sha256[:63])
    with pytest.raises(ValueError, match="SHA-256"):
        replace(entry, sha256=entry.sha256.upper())
    with pytest.raises(ValueError, match="domain must be face or body"):
        replace(entry, domain="cartoon")


def test_a_job_says_how_to_get_a_model_it_does_not_have() -> None:
    message = catalogue.not_cached_message("fomm-vox")
    assert "jobs never download" in message
    assert "`animate models fetch fomm-vox`" in message and "`animate models add FILE`" in message
    assert "\n" not in message
