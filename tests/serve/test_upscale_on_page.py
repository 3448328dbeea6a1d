"""The page offers ``--upscale``/``--upscaler`` with the CLI's choices, and a job run from
it comes back upscaled."""

from __future__ import annotations

from pathlib import Path

import pytest
from testutil import ffmpeg

from animatecli.errors import InputError
from animatecli.options import AnimateOptions
from animatecli.serve.forms import animate_options, form_schema

from .serve_testutil import EXAMPLES, Client, ServerProcess

STATIC = Path(__file__).resolve().parents[2] / "src" / "animatecli" / "serve" / "static"


def test_the_form_offers_the_clis_upscale_choices() -> None:
    schema = form_schema()
    assert schema["choices"]["upscale"] == ("off", "2", "3", "4")
    assert schema["choices"]["upscaler"] == ("auto", "animevideo", "photo", "anime")
    assert (schema["defaults"]["upscale"], schema["defaults"]["upscaler"]) == ("off", "auto")
    page = (STATIC / "index.html").read_text()
    assert '<select name="upscale" data-choices="upscale">' in page
    assert '<select name="upscaler" data-choices="upscaler">' in page


def test_upscale_fields_reach_the_options() -> None:
    options = animate_options({"upscale": "2", "upscaler": "animevideo"})
    assert options == AnimateOptions(upscale="2", upscaler="animevideo")
    assert options.upscale_options() is not None
    with pytest.raises(InputError) as caught:
        animate_options({"upscale": "8"})
    assert str(caught.value) == "upscale: must be one of off, 2, 3, 4, got '8'"
    # A file path is for the command line only: the page never names server files.
    with pytest.raises(InputError):
        animate_options({"upscale": "2", "upscaler": "/etc/passwd"})


def test_a_page_job_with_upscale_2_comes_back_twice_the_size(
    server: ServerProcess, tmp_path: Path
) -> None:
    clip = tmp_path / "short.mp4"
    ffmpeg("-i", str(EXAMPLES / "driving.mp4"), "-frames:v", "3", "-an", str(clip))
    client = Client(server.url)
    uploads = {
        "source": ("photo.png", (EXAMPLES / "source.png").read_bytes()),
        "driving": ("short.mp4", clip.read_bytes()),
    }
    fields = {"kind": "animate", "layout": "compare", "upscale": "2", "upscaler": "animevideo"}
    status, answer = client.submit(fields, uploads)
    assert status == 201, answer
    stream = client.follow(answer["id"])
    done = stream.until(lambda s: s["state"] in ("done", "failed"))
    stream.close()
    assert done["state"] == "done", done["error"]
    # The bundled model's 128×128 frames at ×2, three panels of one height.
    assert done["outputs"][0]["label"].startswith("3 frames at "), done["outputs"][0]["label"]
    assert "768×256" in done["outputs"][0]["label"]
