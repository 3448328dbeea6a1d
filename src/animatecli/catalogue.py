"""The released FOMM and TPSMM checkpoints animatecli knows, declared once (no torch).

``animate models``, ``--checkpoint NAME``, ``doctor``, the web page and the docs read this
table. The SHA-256 is the authority: a mirror is only a place to try, and whatever any
mirror (or the user's own file) serves is accepted only if its hash matches. The facts are
the ones gathered in issue 26 (see docs/models.md); the mirrors were found in public
indexes and could not be reached from where this table was written, so they can be wrong.

Cache folder: ``$ANIMATE_HOME``, else ``$XDG_CACHE_HOME/animatecli``, else
``~/.cache/animatecli``; the files live in its ``models/`` folder under their released
names. The face-alignment weights are not here: they follow torch's own cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOME_ENV = "ANIMATE_HOME"
# The checkpoint a job uses when --checkpoint is not given (a file or a catalogue name).
CHECKPOINT_ENV = "ANIMATE_CHECKPOINT"
XDG_CACHE_ENV = "XDG_CACHE_HOME"
MODELS_FOLDER = "models"

_FOMM_LICENCE = "MIT (CC BY-NC 4.0 before 2023)"
_TPSMM_LICENCE = "MIT"
_VOXCELEB = "VoxCeleb (research set, YouTube videos)"
_TAICHI = "TaiChiHD (YouTube videos)"
_HF_THINPLATES = "https://huggingface.co/MCMLXXXVII/thinplatesv1/resolve/main"
_GH_FOMM_DEMO = (
    "https://github.com/graphemecluster/first-order-model-demo/releases/download/checkpoints"
)


@dataclass(frozen=True)
class CatalogueEntry:
    """One released checkpoint.

    ``size`` is the exact byte count, or None where it is not known yet (then only the
    hash decides). ``mirrors`` are tried in order; ``unlisted_mirrors`` name places
    reported to hold the file whose exact URL is unknown (not tried, shown to the user).
    """

    name: str
    family: str  # "fomm" or "tpsmm"
    config: str  # the official configuration name (engine.*.OFFICIAL_CONFIGS)
    domain: str  # "face" or "body"
    file_name: str
    size: int | None
    sha256: str
    licence: str
    training_data: str
    mirrors: tuple[str, ...]
    unlisted_mirrors: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"catalogue entry {self.name}: a SHA-256 (64 hex digits) is required")
        if self.domain not in ("face", "body"):
            raise ValueError(f"catalogue entry {self.name}: domain must be face or body")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "config": self.config,
            "domain": self.domain,
            "file_name": self.file_name,
            "size": self.size,
            "sha256": self.sha256,
            "licence": self.licence,
            "training_data": self.training_data,
            "mirrors": list(self.mirrors),
            "unlisted_mirrors": list(self.unlisted_mirrors),
        }


CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(
        name="fomm-vox",
        family="fomm",
        config="vox-256",
        domain="face",
        file_name="vox-cpk.pth.tar",
        size=728_766_691,
        sha256="abb41ab1f279f26326c0d6e4d20702de6658364665aa1313daa7a63e89ea2b23",
        licence=_FOMM_LICENCE,
        training_data=_VOXCELEB,
        mirrors=(
            f"{_HF_THINPLATES}/vox-cpk.pth.tar",
            f"{_GH_FOMM_DEMO}/vox-cpk.pth.tar",
        ),
    ),
    CatalogueEntry(
        name="fomm-vox-adv",
        family="fomm",
        config="vox-adv-256",
        domain="face",
        file_name="vox-adv-cpk.pth.tar",
        size=750_926_934,
        sha256="6792d6810d7f46e3c5c487a1cfec916b96fad8912c3c6cc81baa1fc300c820d3",
        licence=_FOMM_LICENCE,
        training_data=_VOXCELEB,
        mirrors=(f"{_GH_FOMM_DEMO}/vox-adv-cpk.pth.tar",),
        unlisted_mirrors=("the ashpexx/my-models Hugging Face repository (file path unknown)",),
    ),
    CatalogueEntry(
        name="fomm-taichi-adv",
        family="fomm",
        config="taichi-adv-256",
        domain="body",
        file_name="taichi-adv-cpk.pth.tar",
        size=None,  # unknown: the hash alone decides (see the issue)
        sha256="cf17bbb05bece3a75f353e42699a4c3ddc8152f486065c2c6741f4d1edecda64",
        licence=_FOMM_LICENCE,
        training_data=_TAICHI,
        mirrors=(f"{_HF_THINPLATES}/taichi-adv-cpk.pth.tar",),
    ),
    CatalogueEntry(
        name="tpsmm-vox",
        family="tpsmm",
        config="vox-256",
        domain="face",
        file_name="vox.pth.tar",
        size=350_993_469,
        sha256="52ad8c848e2a1d91b621de96fea83faf57ce3b8c1c06424e317f4df1d3998204",
        licence=_TPSMM_LICENCE,
        training_data=_VOXCELEB,
        mirrors=(f"{_HF_THINPLATES}/orig/vox.pth.tar",),
        unlisted_mirrors=(
            "the vessl/thin-plate-spline-motion-model Hugging Face repository (file path unknown)",
        ),
    ),
    CatalogueEntry(
        # Same byte count as tpsmm-vox: only the hash tells them apart.
        name="tpsmm-taichi",
        family="tpsmm",
        config="taichi-256",
        domain="body",
        file_name="taichi.pth.tar",
        size=350_993_469,
        sha256="0aa12db735ed9959b3e70d8c3ad171ee7282d235d2e4bcae2b25b7a8c7e63dca",
        licence=_TPSMM_LICENCE,
        training_data=_TAICHI,
        mirrors=(f"{_HF_THINPLATES}/orig/taichi.pth.tar",),
    ),
)


def names() -> list[str]:
    """Every catalogue name, in catalogue order."""
    return [entry.name for entry in CATALOGUE]


def find(name: str) -> CatalogueEntry | None:
    """The entry called ``name``, or None."""
    for entry in CATALOGUE:
        if entry.name == name:
            return entry
    return None


def find_by_sha256(sha256: str) -> CatalogueEntry | None:
    """The entry whose file has this hash, or None."""
    for entry in CATALOGUE:
        if entry.sha256 == sha256:
            return entry
    return None


def home() -> Path:
    """The cache root: ``$ANIMATE_HOME``, else ``$XDG_CACHE_HOME/animatecli``, else
    ``~/.cache/animatecli`` (an empty variable counts as unset)."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get(XDG_CACHE_ENV)
    if xdg:
        return Path(xdg).expanduser() / "animatecli"
    return Path.home() / ".cache" / "animatecli"


def models_dir() -> Path:
    """Where the catalogue's files are cached."""
    return home() / MODELS_FOLDER


def cached_path(entry: CatalogueEntry) -> Path:
    """Where ``entry``'s file lives once fetched (it may not exist)."""
    return models_dir() / entry.file_name


def not_cached_message(name: str) -> str:
    """What a job says when ``--checkpoint NAME`` is not in the cache."""
    return (
        f"model {name} is not downloaded (jobs never download): run "
        f"`animate models fetch {name}` first, or `animate models add FILE` for a copy "
        "you already have"
    )


def require_cached(explicit: str | os.PathLike[str] | None) -> None:
    """Refuse, before any work, a catalogue name that is not in the cache: ``explicit``
    (``--checkpoint``), else ``$ANIMATE_CHECKPOINT``. A path, or a name that is also an
    existing file, passes (the model loader reports on files).

    Raises:
        CheckpointError: the name is not fetched (the message gives the exact
            ``animate models fetch NAME`` command: a job never downloads).
    """
    from .errors import CheckpointError

    given = os.fspath(explicit) if explicit is not None else os.environ.get(CHECKPOINT_ENV)
    if not given:
        return
    entry = find(given)
    if entry is None or Path(given).exists() or cached_path(entry).is_file():
        return
    raise CheckpointError(not_cached_message(entry.name))


# The notice of a job on a real face with the bundled cartoon model (issue 26, item 4).
REAL_FACE_MODEL = "fomm-vox"
BUNDLED_ON_REAL_FACE_NOTICE = (
    "the bundled model was trained on cartoon heads only, so a real face comes out "
    f"distorted: run `animate models fetch {REAL_FACE_MODEL}`, then add "
    f"--checkpoint {REAL_FACE_MODEL}"
)
