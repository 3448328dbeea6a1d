"""Options declared once: every command's defaults are those of the option dataclasses."""

from __future__ import annotations

import inspect
from dataclasses import fields

import typer.main

from animatecli.cli import app
from animatecli.cli.declarations import JobOptions, job_options
from animatecli.options import AnimateOptions, CropOptions, ModelOptions, ProvenanceOptions


def command_defaults(name: str) -> dict[str, object]:
    """Each parameter's default as Typer shows and applies it."""
    group = typer.main.get_command(app)
    command = group.commands[name]  # type: ignore[attr-defined]
    return {p.name: p.default for p in command.params if p.name}


def test_job_options_build_the_dataclasses_defaults() -> None:
    defaults = {name: p.default for name, p in inspect.signature(job_options).parameters.items()}
    built = job_options(**defaults)
    assert built == JobOptions(AnimateOptions(), ModelOptions(), quiet=False, json_output=False)


def test_run_and_batch_take_every_job_option_with_its_default() -> None:
    animate, model = AnimateOptions(), ModelOptions()
    declared = {**{f.name: getattr(animate, f.name) for f in fields(animate)}}
    declared.update({f.name: getattr(model, f.name) for f in fields(model)})
    # The provenance group (its own dataclass, reused by upscale) is flat on the command line.
    provenance = declared.pop("provenance")
    declared.update({f.name: getattr(provenance, f.name) for f in fields(provenance)})
    for command in ("run", "batch"):
        shown = command_defaults(command)
        for name, value in declared.items():
            if name == "crop_increase":
                continue  # not an option of its own: the face margin (options.FACE_MARGIN)
            assert shown[name] == value, (command, name)


def test_crop_takes_the_crop_options_defaults() -> None:
    crop = CropOptions()
    shown = command_defaults("crop")
    for f in fields(crop):
        if f.name == "smooth_seconds":
            continue  # no option: the following crop's fixed smoothing window
        assert shown[f.name] == getattr(crop, f.name), f.name


def test_every_command_that_loads_a_model_names_it_the_same_way() -> None:
    for command in ("run", "batch", "doctor", "eval", "serve"):
        group = typer.main.get_command(app)
        options = {
            opt
            for p in group.commands[command].params  # type: ignore[attr-defined]
            for opt in p.opts
        }
        assert "--checkpoint" in options, command
    for command in ("run", "batch", "doctor", "eval"):
        group = typer.main.get_command(app)
        options = {opt for p in group.commands[command].params for opt in p.opts}  # type: ignore[attr-defined]
        assert "--config" in options, command


def test_provenance_options_on_run_and_batch_never_on_crop() -> None:
    group = typer.main.get_command(app)
    marks = {"--credentials", "--watermark", "--sign-cert", "--sign-key"}
    for command in ("run", "batch", "crop"):
        options = {opt for p in group.commands[command].params for opt in p.opts}  # type: ignore[attr-defined]
        assert (marks <= options) == (command != "crop"), command
    assert command_defaults("run")["credentials"] == ProvenanceOptions().credentials == "on"
    assert command_defaults("run")["watermark"] == "on"


def test_provenance_options_can_be_given_to_another_command() -> None:
    """What an ``upscale`` command takes: the same four options, validated once."""
    import typer
    from typer.testing import CliRunner

    from animatecli.cli.declarations import with_provenance_options

    seen: list[ProvenanceOptions] = []
    other = typer.Typer()

    @other.command()
    @with_provenance_options
    def upscale(video: str, *, provenance: ProvenanceOptions) -> None:
        seen.append(provenance)

    result = CliRunner().invoke(other, ["clip.mp4", "--watermark", "off"])
    assert result.exit_code == 0, result.output
    assert seen == [ProvenanceOptions(watermark="off")]
    result = CliRunner().invoke(other, ["clip.mp4", "--sign-key", "key.pem"])
    assert result.exit_code == 2 and "go together" in result.output
