"""The contract every model family meets, one suite parametrised over the families.

Two parts. The contract proper runs over every registered family plus the test-only
third family (tests/engine/shift_family.py: a scalar extra instead of Jacobians, a mode of
its own): declared keypoint extras, modes and official configs, relative motion and
smoothing over the extras, batching, group sessions and checkpoints, all through the
shared engine. The parity part runs over every family's goldens (`references.REFERENCES`)
what the families share: keypoints (with their extras), hull areas and motion scale,
channels-last and Winograd predictions, the float32 detector under autocast and the warp
convention switch. What only one family has (its networks' internals) stays in
tests/engine/<family>/.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from animatecli.engine import (
    Animator,
    Family,
    Keypoints,
    KeypointSmoother,
    MotionMode,
    MotionModel,
    OneEuroSettings,
    UnsupportedMode,
    family_named,
    load_checkpoint,
    official_container,
    registry,
)
from animatecli.engine.inference import prepare_for_inference
from animatecli.engine.motion import convex_hull_area, movement_scale
from animatecli.engine.winograd import WinogradConv3x3
from animatecli.training.export import save_checkpoint

from .references import (
    REFERENCES,
    Golden,
    GoldenModel,
    Reference,
    assert_close,
    build_golden_model,
    reference_dir,
    reference_path,
)
from .shift_family import SHIFT, ShiftConfig, ShiftModel

FAMILY_NAMES = (*(f.name for f in registry.FAMILIES), SHIFT.name)


@dataclass
class Case:
    """A family's model (built fresh on each call: the Animator takes its model over) with
    a source and four driving frames at its frame shape."""

    family: Family
    build: Callable[[], MotionModel]
    source: torch.Tensor  # 1×3×H×W
    driving: torch.Tensor  # 4×3×H×W
    # How far batch sizes may move predictions (float32 summation order): the family's
    # reference tolerance (TPSMM's TPS solves move up to ~6e-3 on its golden).
    atol_prediction: float

    @functools.cached_property
    def model(self) -> MotionModel:
        return self.build()


@pytest.fixture(scope="module")
def goldens() -> dict[str, Golden]:
    """Each registered family's first golden, by family name."""
    first: dict[str, Golden] = {}
    for reference in REFERENCES:
        first.setdefault(reference.family, reference.load())
    return first


def _shift_model() -> ShiftModel:
    torch.manual_seed(0)
    return ShiftModel(ShiftConfig()).eval()


@pytest.fixture(params=FAMILY_NAMES)
def case(request: pytest.FixtureRequest, goldens: dict[str, Golden]) -> Iterator[Case]:
    name = request.param
    if name == SHIFT.name:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(registry, "FAMILIES", (*registry.FAMILIES, SHIFT))
            frames = torch.rand(
                5, 3, *ShiftConfig().frame_shape, generator=torch.Generator().manual_seed(1)
            )
            yield Case(SHIFT, _shift_model, frames[:1], frames[1:], 1e-5)
        return
    golden = goldens[name]
    atol = next(r.atol_prediction for r in REFERENCES if r.family == name)
    yield Case(
        family_named(name),
        functools.partial(build_golden_model, golden),
        golden["source"],
        golden["driving"],
        atol,
    )


# The contract, over every family and the test family.


def test_keypoints_carry_the_declared_extras(case: Case) -> None:
    with torch.inference_mode():
        kp = case.model.detect(case.driving)
    batch = case.driving.shape[0]
    assert kp.value.shape[0] == batch and kp.value.shape[2] == 2
    count = kp.value.shape[1]
    declared = {extra.name: extra.shape for extra in case.model.keypoint_extras}
    assert set(kp.extras) == set(declared)
    for name, tensor in kp.extras.items():
        assert tensor.shape == (batch, count, *declared[name]), name
    # Batch indexing, concatenation and device/dtype moves keep every extra.
    rows = Keypoints.cat([kp[i] for i in range(batch)])
    moved = kp[1:3].to(torch.float64)
    for name, tensor in kp.extras.items():
        assert torch.equal(rows.extras[name], tensor)
        assert moved.extras[name].dtype == torch.float64
        assert torch.equal(moved.extras[name], tensor[1:3].double())


def test_modes_come_from_the_family_declaration(case: Case) -> None:
    declared = {mode.name for mode in case.family.modes}
    assert {MotionMode.RELATIVE, MotionMode.ABSOLUTE} <= set(case.model.modes) <= declared
    choices = registry.mode_choices()
    help_text = registry.mode_help()
    for mode in case.family.modes:
        assert set(mode.names) <= set(choices) and f"{mode.name}" in help_text
    # standard is everyone's name for absolute.
    assert case.model.supports(MotionMode("standard"))
    with pytest.raises(
        UnsupportedMode, match=f"not available for this {case.family.title.upper()}"
    ):
        case.model.check_mode(MotionMode("warp-drive"))


def test_official_configs_name_their_domain(case: Case) -> None:
    family = case.family
    assert family.official_configs
    for name, official in family.official_configs.items():
        assert family.domain_of(name) == official.domain in ("face", "body")
        config = family.official_config(name)
        assert family.config_from_dict(config.to_dict()) == config
        assert family.matching_official_config(config, official.file_name) == name
    assert family.domain_of(None) == "face"  # not an official config: a face model
    assert family.domain_of("no-such-config") == "face"


def test_relative_motion_maps_the_extras(case: Case) -> None:
    model = case.model
    with torch.inference_mode():
        kp_source, kp_driving = model.detect(case.source), model.detect(case.driving)
        kp_initial = kp_driving[0]
        scale = movement_scale(kp_source, kp_initial)
        relative = model.transfer(kp_source, kp_driving, kp_initial, MotionMode.RELATIVE, scale)
        absolute = model.transfer(kp_source, kp_driving, kp_initial, MotionMode.ABSOLUTE, scale)
    expected_value = (kp_driving.value - kp_initial.value) * scale + kp_source.value
    torch.testing.assert_close(relative.value, expected_value, rtol=0, atol=0)
    for extra in model.keypoint_extras:
        driving = kp_driving.extras[extra.name]
        if extra.relative is None:
            expected = driving
        else:
            expected = extra.relative(
                driving, kp_initial.extras[extra.name], kp_source.extras[extra.name]
            )
        torch.testing.assert_close(relative.extras[extra.name], expected, rtol=0, atol=0)
    assert absolute is kp_driving


def test_smoothing_filters_every_extra(case: Case) -> None:
    with torch.inference_mode():
        kp = case.model.detect(torch.cat([case.driving, case.driving.flip(0)]))
    whole = KeypointSmoother(OneEuroSettings(), 25.0)(kp)
    streamed = KeypointSmoother(OneEuroSettings(), 25.0)
    parts = Keypoints.cat([streamed(kp[i : i + 3]) for i in range(0, 8, 3)])
    torch.testing.assert_close(parts.value, whole.value)
    assert set(whole.extras) == set(kp.extras)
    for name, tensor in kp.extras.items():
        torch.testing.assert_close(parts.extras[name], whole.extras[name])
        assert whole.extras[name].shape == tensor.shape
        assert torch.equal(whole.extras[name][0], tensor[0])  # the first frame is kept
        assert not torch.equal(whole.extras[name][1:], tensor[1:])  # the rest filtered


def test_sessions_batches_and_groups_agree(case: Case) -> None:
    """Through the Animator with smoothing: batch sizes agree, and a group session's row
    for a source is that source's own session."""
    smoothing = OneEuroSettings()
    animator = Animator(case.build())
    single = animator.session(case.source[0], smoothing=smoothing)
    one_pass = single.animate_batch(case.driving)
    streamed = animator.session(case.source[0], smoothing=smoothing)
    frames = torch.stack(list(streamed.animate(iter(case.driving), batch_size=3)))
    torch.testing.assert_close(frames, one_pass, rtol=0, atol=case.atol_prediction)
    sources = torch.cat([case.source, case.source.flip(-1)])
    group = animator.group_session(sources, smoothing=smoothing)
    rows = group.animate_batch(case.driving)  # B×F×3×H×W
    assert rows.shape == (case.driving.shape[0], 2, *one_pass.shape[1:])
    torch.testing.assert_close(rows[:, 0], one_pass, rtol=0, atol=case.atol_prediction)
    assert not torch.allclose(rows[:, 1], one_pass)


def test_checkpoints_round_trip(case: Case, tmp_path: Path) -> None:
    model = case.build()
    official = tmp_path / "official.pth.tar"
    torch.save({**official_container(model), "epoch": 3}, official)
    loaded = load_checkpoint(official)
    assert (loaded.family, loaded.kind, loaded.config_source) == (
        case.family.name,
        "official",
        "inferred",
    )
    assert loaded.align_corners is case.family.default_align_corners
    ours = tmp_path / "ours.pt"
    save_checkpoint(ours, loaded.model)
    again = load_checkpoint(ours)
    assert (again.family, again.kind, again.config) == (
        case.family.name,
        "animatecli",
        loaded.config,
    )
    assert again.describe()["modes"] == [str(mode) for mode in loaded.model.modes]
    with torch.inference_mode():
        for name, state in official_container(model).items():
            if isinstance(state, dict):
                reloaded = again.model.checkpoint_parts()[name].state_dict()
                for key, tensor in state.items():
                    assert torch.equal(reloaded[key], tensor), (name, key)


# The released files' layouts (../shared/<family>-reference/manifest-<config>.json).

OFFICIAL = [(f.name, name) for f in registry.FAMILIES for name in f.official_configs]


@pytest.mark.parametrize("family", [f.name for f in registry.FAMILIES])
def test_every_official_config_has_its_manifest(family: str) -> None:
    found = sorted(p.name for p in reference_dir(family).glob("manifest-*.json"))
    expected = sorted(f"manifest-{name}.json" for name in family_named(family).official_configs)
    assert found == expected, f"manifests in {reference_dir(family)}"


@pytest.mark.parametrize(("family", "name"), OFFICIAL, ids=[f"{f}-{n}" for f, n in OFFICIAL])
def test_state_dicts_match_manifest(family: str, name: str) -> None:
    record = family_named(family)
    manifest = json.loads(reference_path(family, f"manifest-{name}.json").read_text())
    config = record.config_from_dict(manifest["config"])
    assert record.official_config(name) == config
    with torch.device("meta"):
        model = record.build(config, record.optional_parts)
    parts = model.checkpoint_parts()
    for part, module in parts.items():
        # Same keys, same order, same shapes: strict loading of the official dicts.
        assert [[k, list(v.shape)] for k, v in module.state_dict().items()] == manifest[part]
        assert sum(p.numel() for p in module.parameters()) == manifest["params"][part]
    if "total_demo_networks" in manifest["params"]:  # TPSMM's manifests count them all
        demo = sum(p.numel() for module in parts.values() for p in module.parameters())
        assert demo == manifest["params"]["total_demo_networks"]
    # The shapes alone name the config, with the released file name for what tensors
    # cannot show (frame size, bg, which of several same-shaped releases).
    inferred = record.infer_config({part: m.state_dict() for part, m in parts.items()})
    file_name = record.official_configs[name].file_name
    assert record.matching_official_config(inferred, file_name) == name


# Parity with each family's reference, for what the families share.


@pytest.fixture(scope="module", params=REFERENCES, ids=[r.id for r in REFERENCES])
def reference(request: pytest.FixtureRequest) -> tuple[Reference, Golden]:
    ref: Reference = request.param
    return ref, ref.load()


@pytest.mark.parametrize("batch_size", [1, 4])
def test_keypoints_match_the_reference(
    reference: tuple[Reference, Golden], golden_model: GoldenModel, batch_size: int
) -> None:
    ref, golden = reference
    animator = Animator(golden_model(golden))
    kp_source = animator.keypoints(golden["source"])
    assert_close(kp_source.value, golden["kp_source"][ref.points], ref.atol_kp)
    rows = Keypoints.cat([animator.keypoints(b) for b in golden["driving"].split(batch_size)])
    assert_close(rows.value, golden["kp_driving"][ref.points], ref.atol_kp)
    for extra in animator.model.keypoint_extras:  # the goldens name extras as we declare them
        assert_close(kp_source.extras[extra.name], golden["kp_source"][extra.name], ref.atol_kp)
        assert_close(rows.extras[extra.name], golden["kp_driving"][extra.name], ref.atol_kp)


def test_convex_hull_areas_and_scale(
    reference: tuple[Reference, Golden], golden_model: GoldenModel
) -> None:
    ref, golden = reference
    areas = golden["convex_hull_area"]
    assert convex_hull_area(golden["kp_source"][ref.points][0]) == pytest.approx(
        areas["source"].item(), rel=1e-12
    )
    assert convex_hull_area(golden["kp_driving_initial"][ref.points][0]) == pytest.approx(
        areas["driving_initial"].item(), rel=1e-12
    )
    session = Animator(golden_model(golden)).session(
        golden["source"], initial=golden["driving"][:1]
    )
    # ~1e-6 relative per the fixtures; keypoints within their tolerance can move it a
    # little more.
    assert session.scale == pytest.approx(golden["adapt_movement_scale"].item(), rel=1e-5)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_streamed_predictions_channels_last(
    reference: tuple[Reference, Golden], golden_model: GoldenModel, batch_size: int
) -> None:
    ref, golden = reference
    animator = Animator(golden_model(golden), channels_last=True)
    session = animator.session(golden["source"][0], adapt_scale=True)
    frames = list(session.animate(iter(golden["driving"]), batch_size=batch_size))
    assert len(frames) == 4
    assert_close(torch.stack(frames), ref.prediction(golden), ref.atol_prediction)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_winograd_everywhere_stays_within_tolerance(
    reference: tuple[Reference, Golden],
    golden_model: GoldenModel,
    batch_size: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The golden models are too narrow and too small for the default rules (128
    channels, 64² maps), so every eligible convolution takes the transform here."""
    ref, golden = reference
    monkeypatch.setattr(WinogradConv3x3, "MIN_PIXELS", 16)
    taken: list[bool] = []
    takes = WinogradConv3x3.takes

    def counted(module: WinogradConv3x3, x: torch.Tensor) -> bool:
        taken.append(takes(module, x))
        return taken[-1]

    monkeypatch.setattr(WinogradConv3x3, "takes", counted)
    model = golden_model(golden).eval()
    prepare_for_inference(model.to(memory_format=torch.channels_last), winograd_min_channels=1)
    session = Animator(model, optimize=False).session(golden["source"][0], adapt_scale=True)
    frames = list(session.animate(iter(golden["driving"]), batch_size=batch_size))
    assert sum(taken) >= 4  # layers × batches that took the transform
    assert_close(torch.stack(frames), ref.prediction(golden), ref.atol_prediction)


def test_keypoints_stay_float32_under_autocast(
    reference: tuple[Reference, Golden], golden_model: GoldenModel
) -> None:
    """`float32_forward`: under autocast (bf16 on the CPU here) the detector gives its
    float32 keypoints and extras bit for bit."""
    _, golden = reference
    model = golden_model(golden)
    with torch.inference_mode():
        expected = model.detect(golden["driving"])
        with torch.autocast("cpu", dtype=torch.bfloat16):
            kp = model.detect(golden["driving"])
    assert torch.equal(kp.value, expected.value)
    assert set(kp.extras) == set(expected.extras)
    for name, tensor in expected.extras.items():
        assert torch.equal(kp.extras[name], tensor), name


def test_warp_convention_switch_changes_every_warp(
    reference: tuple[Reference, Golden], golden_model: GoldenModel
) -> None:
    ref, golden = reference
    model = golden_model(golden)
    family = family_named(ref.family)
    # The goldens encode the family's own convention (FOMM False, TPSMM True).
    assert model.align_corners is family.default_align_corners
    flipped = not family.default_align_corners
    model.set_align_corners(flipped)
    assert model.align_corners is flipped
    for name, module in model.named_modules():
        if isinstance(getattr(module, "align_corners", None), bool):
            assert module.align_corners is flipped, name
    prediction = Animator(model).session(golden["source"][0]).animate_batch(golden["driving"][:1])
    diff = (prediction - ref.prediction(golden)[:1]).abs().max()
    # The other convention moves predictions visibly (specs: FOMM ~0.4, TPSMM up to ~0.68).
    assert diff > 0.05


def test_the_options_offer_exactly_the_declared_modes() -> None:
    """options.py must not import torch (the CLI checks values and prints its help before
    loading the model stack), so it spells the choices out: they must be the registry's."""
    from animatecli.options import MOTION_MODES

    assert registry.mode_choices() == MOTION_MODES
