"""The provenance marks of one job's output (docs/provenance.md): what the job hands the
sink (the label, the C2PA seal of MP4s), the watermark each frame gets, and the ``--json``
record of all three.

Everything that can fail for a reason of the user's (an unreadable key, a config folder
that cannot hold the self-made key) fails here, before any frame is computed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..options import ProvenanceOptions
from ..provenance.credentials import (
    Claim,
    Ingredient,
    SigningIdentity,
    load_identity,
    self_made_identity,
    sign_mp4,
)
from ..provenance.label import label_text
from ..provenance.watermark import Embedder, new_output_id

# The containers C2PA manifests are embedded in (the reader validates them as BMFF).
SIGNED_SUFFIXES = (".mp4",)


def model_name(checkpoint: dict[str, Any]) -> tuple[str, str]:
    """(family, checkpoint name) from `Runtime.describe_checkpoint`: the catalogue's name
    or the file's name, never a path."""
    catalogue = checkpoint.get("catalogue") or {}
    name = catalogue.get("name") or Path(str(checkpoint.get("path", ""))).name or "unknown"
    return str(checkpoint.get("family", "unknown")), str(name)


@dataclass
class OutputMarks:
    """The marks one output gets, decided before the first frame."""

    output: Path
    options: ProvenanceOptions
    model: str  # "family/checkpoint name", as the label and the credentials name it
    claim: Claim | None = None  # None: the output is not signed
    identity: SigningIdentity | None = None
    embedder: Embedder | None = None
    signed: bool = field(default=False, init=False)  # True once the seal ran

    @classmethod
    def plan(
        cls,
        options: ProvenanceOptions,
        output: str | os.PathLike[str],
        checkpoint: dict[str, Any],
        inputs: Sequence[tuple[str, Path]],
    ) -> OutputMarks:
        """The marks of ``output`` made from ``inputs`` ((role, path): the source photo
        and the driving video of a job, the input of an upscale) with ``checkpoint``.

        Raises `CredentialsError` when credentials are asked for and cannot be made.
        """
        family, name = model_name(checkpoint)
        target = Path(output)
        embedder = Embedder(new_output_id()) if options.marks_pixels else None
        marks = cls(target, options, f"{family}/{name}", embedder=embedder)
        if options.signs and target.suffix.lower() in SIGNED_SUFFIXES:
            if options.sign_cert is not None and options.sign_key is not None:
                marks.identity = load_identity(options.sign_cert, options.sign_key)
            else:
                marks.identity = self_made_identity()
            marks.claim = Claim(
                model_family=family,
                checkpoint=name,
                ingredients=tuple(Ingredient.of_file(role, path) for role, path in inputs),
                output_id=None if embedder is None else f"{embedder.output_id:04x}",
            )
        return marks

    @property
    def label(self) -> str | None:
        """What the sink's ``label`` takes: the model's name, or None for no label."""
        return self.model if self.options.signs else None

    def seal(self, temp: Path) -> None:
        """Sign the sink's finished temporary (it is renamed onto the output afterwards)."""
        if self.claim is None or self.identity is None:
            return
        if temp.suffix.lower() not in SIGNED_SUFFIXES:
            return
        sign_mp4(temp, self.claim, self.identity, final=self.output)
        self.signed = True

    def mark(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` (H×W×3 uint8 RGB) with the watermark, or as it is when it is off."""
        return frame if self.embedder is None else self.embedder.mark(frame)

    def to_dict(self) -> dict[str, Any]:
        """The job's ``--json`` ``provenance`` object."""
        if self.claim is not None and self.identity is not None:
            credentials: dict[str, Any] = {
                "signed": self.signed,
                "signer": "self-made key (proves integrity, not identity)"
                if self.identity.self_made
                else "your certificate",
                "model": self.model,
                "ingredients": [
                    {"role": i.role, "sha256": i.sha256} for i in self.claim.ingredients
                ],
            }
        else:
            reason = "off" if not self.options.signs else "only MP4 outputs carry them"
            credentials = {"signed": False, "reason": reason}
        return {
            "watermark": {
                "embedded": self.embedder is not None,
                "output_id": None if self.embedder is None else f"{self.embedder.output_id:04x}",
            },
            "credentials": credentials,
            "label": None if self.label is None else label_text(self.label),
        }
