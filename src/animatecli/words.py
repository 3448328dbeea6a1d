"""Counted nouns for messages: "1 frame", "25 frames"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, singular for exactly one (``plural`` or noun + "s" else)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
