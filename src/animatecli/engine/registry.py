"""The model families the engine knows, and how a checkpoint's entries name its family.

Adding a family: write its subpackage (a :class:`~.protocol.MotionModel` and a
:class:`~.protocol.Family` record declaring its modes and official configs) and list the
record here. The shared engine maps over the family's keypoint extras, offers its modes
and reads each official config's domain without naming the family.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import fomm, tpsmm
from .motion import ModeSpec
from .protocol import Family

FAMILIES: tuple[Family, ...] = (
    fomm.FAMILY,
    tpsmm.FAMILY,
)


def family_named(name: str) -> Family:
    """The family called ``name``; KeyError if none is."""
    for family in FAMILIES:
        if family.name == name:
            return family
    raise KeyError(name)


def recognise(container: Mapping[str, Any]) -> Family | None:
    """The family whose official container has every entry this one holds a dict for."""
    for family in FAMILIES:
        if all(isinstance(container.get(part), Mapping) for part in family.required_parts):
            return family
    return None


def declared_modes() -> tuple[ModeSpec, ...]:
    """Every motion mode some family declares, each once, in declaration order (the
    choices of ``--mode``; a loaded model may support fewer)."""
    modes: dict[str, ModeSpec] = {}
    for family in FAMILIES:
        for mode in family.modes:
            modes.setdefault(mode.name, mode)
    return tuple(modes.values())


def mode_choices() -> tuple[str, ...]:
    """The names ``--mode`` accepts: every declared mode and its aliases."""
    return tuple(name for mode in declared_modes() for name in mode.names)


def mode_help() -> str:
    """One line describing the declared modes, for ``--mode``'s help."""
    parts = []
    for mode in declared_modes():
        aliases = "".join(f" (or {alias})" for alias in mode.aliases)
        parts.append(f"{mode.name}{aliases}: {mode.help}")
    return "; ".join(parts) + "."
