"""The driving video as the model sees it."""

from __future__ import annotations

import numpy as np

from animatecli import media
from animatecli.faces import CropPath
from animatecli.runtime.driving import crop_to_model, fitted_frames, in_batches

SOFTWARE = media.CodecChoice(None, "software")


def test_batches_keep_every_item_in_order_the_last_one_shorter() -> None:
    frames = [np.full((1, 1, 3), n, np.uint8) for n in range(7)]
    batches = list(in_batches(iter(frames), 3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [int(f[0, 0, 0]) for b in batches for f in b] == list(range(7))


def test_fitted_frames_are_at_the_models_shape_and_stop_where_asked(samples: object) -> None:
    info = media.probe_video(samples.v25)  # type: ignore[attr-defined]  # 96×64, 25 frames
    frames = list(fitted_frames(info, SOFTWARE, (32, 32), "crop"))
    assert len(frames) == 25 and all(f.shape == (32, 32, 3) for f in frames)
    assert len(list(fitted_frames(info, SOFTWARE, (32, 32), "crop", stop=5))) == 5


def test_a_crop_path_cuts_each_frame_to_its_square(samples: object) -> None:
    info = media.probe_video(samples.v25)  # type: ignore[attr-defined]
    path = CropPath(0, np.tile([[30.0, 25.0]], (25, 1)), 40, follows=False)
    assert path.box_at(0) == (10, 5, 50, 45)
    whole = list(fitted_frames(info, SOFTWARE, (64, 96), "stretch"))
    cropped = list(fitted_frames(info, SOFTWARE, (16, 16), "crop", crop=path))
    assert len(cropped) == 25
    # Each crop is the frame's square resized, whatever the fit.
    full = media.VideoReader(info.path, info=info)
    with full as reader:
        first = next(reader)
    np.testing.assert_array_equal(cropped[0], crop_to_model(first, (10, 5, 50, 45), (16, 16)))
    assert whole[0].shape == (64, 96, 3)
