"""The page's form fields become the CLI's option objects, with the CLI's defaults."""

from __future__ import annotations

import pytest

from animatecli.engine import MotionMode
from animatecli.errors import InputError
from animatecli.options import AnimateOptions, CropOptions
from animatecli.serve.forms import animate_options, crop_options, form_schema, output_format


def test_an_empty_form_gives_the_clis_defaults() -> None:
    assert animate_options({}) == AnimateOptions()
    assert crop_options({}, "auto") == CropOptions()
    assert output_format({}) == "mp4"


def test_the_schema_offers_the_defaults_it_applies() -> None:
    schema = form_schema()
    fields = {k: str(v) for k, v in schema["defaults"].items() if k in schema["choices"]}
    assert animate_options(fields) == AnimateOptions()
    for name, default in fields.items():
        assert default in schema["choices"][name]


def test_every_field_reaches_the_options() -> None:
    options = animate_options(
        {
            "mode": "absolute",
            "align": "12",
            "fit": "pad",
            "crop_source": "off",
            "crop_driving": "off",
            "smooth": "2",
            "detector": "opencv",
            "adapt_scale": "off",
            "layout": "paste-back",
        }
    )
    assert options == AnimateOptions(
        mode=MotionMode.ABSOLUTE,
        align="12",
        fit="pad",
        crop_source="off",
        crop_driving="off",
        smooth="2",
        detector="opencv",
        adapt_scale=False,
        paste_back=True,
    )
    assert animate_options({"faces": "all"}).faces == "all"
    assert animate_options({"layout": "compare"}).compare
    assert crop_options({"min_seconds": "2.5", "detector": "opencv"}, "cpu") == CropOptions(
        min_seconds=2.5, detector="opencv", device="cpu"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"mode": "sideways"},
            "mode: must be one of relative, absolute, standard, avd, got 'sideways'",
        ),
        ({"align": "-1"}, "align '-1': use best, first or a frame index"),
        # Issue 28 item 11: isdigit() takes "²", int() does not; the CLI's own check.
        ({"align": "²"}, "align '²': use best, first or a frame index"),
        (
            {"align": "9" * 30},
            "align 999999999999999999999999999999: frame index out of range (at most 1000000000)",
        ),
        ({"fit": "../x"}, "fit: must be one of crop, pad, stretch, got '../x'"),
        ({"adapt_scale": "yes"}, "adapt_scale: must be on or off, got 'yes'"),
        ({"layout": "both"}, "layout: must be one of result, compare, paste-back, got 'both'"),
    ],
)
def test_bad_values_are_one_line_errors(fields: dict[str, str], message: str) -> None:
    with pytest.raises(InputError) as caught:
        animate_options(fields)
    assert str(caught.value) == message


def test_an_unknown_format_is_a_one_line_error() -> None:
    with pytest.raises(InputError) as caught:
        output_format({"format": "avi"})
    assert str(caught.value) == "format: must be one of mp4, webm, got 'avi'"


@pytest.mark.parametrize(
    ("value", "message"),
    [("soon", "min_seconds: not a number: 'soon'"), ("-1", "--min-seconds must be 0 or more")],
)
def test_bad_crop_values_are_one_line_errors(value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        crop_options({"min_seconds": value}, "cpu")
