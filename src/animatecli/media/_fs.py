"""Temporary sibling paths for atomic writes (temp file + `os.replace`)."""

from __future__ import annotations

import secrets
from pathlib import Path


def temp_sibling(target: Path, suffix: str) -> Path:
    """An unused hidden path beside `target`, e.g. `.out.mp4.3f9a1c2e.tmp.mp4`; not created.

    Not created on purpose: whoever writes it (ffmpeg, Pillow, os.mkdir) then applies the
    user's umask, whereas `tempfile.mkstemp`/`mkdtemp` would leave the final output 0600/0700.
    The real extension comes last so ffmpeg picks the right muxer from the name.
    """
    while True:
        candidate = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp{suffix}"
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
