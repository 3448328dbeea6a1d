"""What ``animate serve`` was started with (animatecli.serve.settings): the limits it
refuses, the upload limit in bytes, and which addresses only this machine can reach."""

from __future__ import annotations

import math
from typing import Any

import pytest

from animatecli.errors import ExitCode, InputError
from animatecli.serve.settings import ServeSettings


def test_the_defaults_are_valid_and_local() -> None:
    settings = ServeSettings()
    settings.validate()
    assert (settings.host, settings.port) == ("127.0.0.1", 7860)
    assert settings.is_loopback
    assert settings.max_upload_bytes == 200 * 2**20


@pytest.mark.parametrize("port", [0, 1, 65535])
def test_ports_accepted(port: int) -> None:
    ServeSettings(port=port).validate()  # 0: the system picks a free port


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"port": -1}, "--port must be in 0..65535, got -1"),
        ({"port": 65536}, "--port must be in 0..65535, got 65536"),
        ({"max_upload_mb": 0}, "--max-upload-mb must be a positive number, got 0"),
        ({"max_upload_mb": math.inf}, "--max-upload-mb must be a positive number, got inf"),
        ({"max_video_seconds": -5.0}, "--max-video-seconds must be a positive number, got -5.0"),
        ({"max_video_seconds": math.nan}, "--max-video-seconds must be a positive number"),
    ],
)
def test_settings_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as raised:
        ServeSettings(**values).validate()
    assert message in str(raised.value)
    assert raised.value.exit_code == ExitCode.USAGE


def test_the_upload_limit_is_counted_in_mebibytes() -> None:
    assert ServeSettings(max_upload_mb=1).max_upload_bytes == 1_048_576
    assert ServeSettings(max_upload_mb=0.5).max_upload_bytes == 524_288


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("0.0.0.0", False),  # every interface
        ("::", False),
        ("192.168.1.20", False),
        ("10.0.0.1", False),
        ("example.org", False),  # a name is not assumed local
    ],
)
def test_which_hosts_only_this_machine_reaches(host: str, loopback: bool) -> None:
    assert ServeSettings(host=host).is_loopback is loopback
