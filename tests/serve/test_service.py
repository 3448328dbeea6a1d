"""The server's state: one runtime per checkpoint, reused by every job, each job with its
own progress and notices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from animatecli import media
from animatecli.serve.jobs import JobProgress
from animatecli.serve.service import WebService, safe_stem
from animatecli.serve.settings import ServeSettings
from animatecli.serve.uploads import ReceivedForm, UploadedFile


def test_safe_stem_keeps_only_harmless_characters() -> None:
    assert safe_stem("../../my photo (1).png") == "my_photo_1"
    assert safe_stem("...") == "upload"


def test_jobs_share_the_runtime_and_each_says_its_own_notices(
    tiny_checkpoint: Path, samples: object, tmp_path: Path
) -> None:
    photo = tmp_path / "wide.png"
    rng = np.random.default_rng(5)
    media.save_png(photo, rng.integers(0, 256, (40, 90, 3), dtype=np.uint8))  # no face
    service = WebService(ServeSettings(checkpoint=tiny_checkpoint, device="cpu"))
    try:
        runtimes, notices = [], []
        for number in range(2):
            folder = service.workspace.job_folder(f"job{number}")
            form = ReceivedForm(
                fields={
                    "kind": "animate",
                    "checkpoint": tiny_checkpoint.name,
                    "align": "first",
                    "crop_driving": "off",
                    "detector": "opencv",
                },
                files={
                    "source": UploadedFile(photo, "my photo.png", photo.stat().st_size),
                    "driving": UploadedFile(samples.v25, "talk.mp4", 1),  # type: ignore[attr-defined]
                },
            )
            job = service.build_job(f"job{number}", folder, form)
            progress = JobProgress()
            (output,) = job.work(progress)
            assert output.path.stat().st_size > 0
            assert output.download_name == "my_photo__talk.mp4"
            runtimes.append(service.models.get(tiny_checkpoint, progress))
            notices.append(progress.notices)
        assert runtimes[0] is runtimes[1]  # loaded once
        assert (
            notices[0]
            == notices[1]
            == [f"no face found in {photo.name}; animating the whole image (crop)"]
        )
    finally:
        service.close()


def test_a_damaged_driving_video_is_a_notice_on_the_page(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """Issue 28 item 17: the page shows the job's notices; a damaged video is one of them,
    with ffmpeg's count of decode errors."""
    from testutil import damaged_clip

    damaged = damaged_clip(tmp_path)
    photo = tmp_path / "photo.png"
    media.save_png(photo, np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    service = WebService(ServeSettings(checkpoint=tiny_checkpoint, device="cpu"))
    try:
        form = ReceivedForm(
            fields={
                "kind": "animate",
                "checkpoint": tiny_checkpoint.name,
                "align": "first",
                "crop_driving": "off",
                "crop_source": "off",
            },
            files={
                "source": UploadedFile(photo, "photo.png", photo.stat().st_size),
                "driving": UploadedFile(damaged, "damaged.mp4", damaged.stat().st_size),
            },
        )
        job = service.build_job("job", service.workspace.job_folder("job"), form)
        progress = JobProgress()
        job.work(progress)
        damage = [n for n in progress.notices if "is damaged: ffmpeg reported" in n]
        assert len(damage) == 1, progress.notices
        assert damage[0].endswith("decode errors; some frames may show artefacts")
    finally:
        service.close()
