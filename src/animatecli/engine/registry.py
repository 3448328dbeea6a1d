"""The model families the engine knows, and how a checkpoint's entries name its family.

Adding a family: write its subpackage (a :class:`~.protocol.MotionModel` and a
:class:`~.protocol.Family` record) and list the record here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import fomm, tpsmm
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
