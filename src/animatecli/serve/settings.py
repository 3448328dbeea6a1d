"""What ``animate serve`` was started with: address, limits, model and device."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

LOOPBACK_NAMES = ("localhost",)


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: float = 200.0  # one request: the photo and the video together
    max_video_seconds: float = 300.0
    checkpoint: Path | None = None  # added to the page's list and selected first
    device: str = "auto"
    # A job whose page has been gone this long is cancelled and its files removed (a
    # page reload or a dropped connection reconnects within it).
    abandon_after_seconds: float = 5.0
    # An upload that stops this long, or trickles in (serve.uploads.MIN_BYTES_PER_SECOND),
    # is refused; a connection that sends no complete request head this long is closed.
    upload_idle_seconds: float = 30.0

    def validate(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InputError(f"--port must be in 0..65535, got {self.port}")
        for option, value in (
            ("--max-upload-mb", self.max_upload_mb),
            ("--max-video-seconds", self.max_video_seconds),
        ):
            if not (value > 0 and math.isfinite(value)):
                raise InputError(f"{option} must be a positive number, got {value}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)

    @property
    def is_loopback(self) -> bool:
        """Whether only this machine can reach the server."""
        if self.host in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
