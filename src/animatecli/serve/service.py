"""The server's state: its settings, private folder, job queue and loaded model, and
how a received form becomes a job that runs the CLI's own code.

Every job runs a `runtime.job.AnimationJob` on the cached `Runtime`, or `crop_video`, in the
`JobQueue`'s worker thread. The client names things only by ids this server gave out
(example and checkpoint names, output names); no path it sends is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import catalogue, media
from ..crop import crop_video
from ..errors import CheckpointError, InputError
from ..models import CHECKPOINT_DIR, catalogue_entry_of, resolve_checkpoint, resolve_device
from ..options import AnimateOptions, ModelOptions
from ..words import counted
from .forms import animate_options, crop_options, form_schema, output_format
from .jobs import Job, JobProgress, JobQueue, OutputFile, rewrite_paths
from .settings import ServeSettings
from .uploads import ReceivedForm, Workspace

if TYPE_CHECKING:
    from ..runtime.runtime import Runtime

# The bundled examples of a source checkout (absent from an installed wheel).
EXAMPLES_DIR = CHECKPOINT_DIR.parent / "examples"
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".tar")
# The forms' file inputs: a photo and a driving video to animate, a video to crop.
FILE_FIELDS = frozenset({"source", "driving", "video", "file"})
# What a file to verify may be called on disk: the reader picks formats by extension.
VERIFY_SUFFIXES = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".gif", ".avi"}
    | {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})


def known_checkpoints(explicit: Path | None) -> dict[str, Path]:
    """Checkpoints the page offers: the one the CLI would use first (``--checkpoint``,
    ``$ANIMATE_CHECKPOINT``, the bundled model), then the catalogue models in the cache
    (by catalogue name), then the others in the bundled ``checkpoints/`` folder (by file
    name).

    Raises:
        CheckpointError: ``explicit`` (or the environment) names a catalogue model that is
            not fetched: the server never downloads.
    """
    catalogue.require_cached(explicit)
    candidates: list[Path] = []
    with contextlib.suppress(CheckpointError):  # no default model: only the folder's
        candidates.append(resolve_checkpoint(explicit)[0])
    candidates += [catalogue.cached_path(entry) for entry in catalogue.CATALOGUE]
    if CHECKPOINT_DIR.is_dir():
        candidates += sorted(p for p in CHECKPOINT_DIR.iterdir() if p.suffix in CHECKPOINT_SUFFIXES)
    found: dict[str, Path] = {}
    for path in candidates:
        entry = catalogue_entry_of(path)
        name = entry.name if entry is not None else path.name
        if path.is_file() and name not in found and path not in found.values():
            found[name] = path
    return found


def fetchable_models(offered: dict[str, Path]) -> list[dict[str, str]]:
    """The catalogue models not in the cache, with the command that fetches each (the
    page shows them; the server itself never downloads)."""
    return [
        {
            "name": entry.name,
            "domain": entry.domain,
            "licence": entry.licence,
            "command": f"animate models fetch {entry.name}",
        }
        for entry in catalogue.CATALOGUE
        if entry.name not in offered
    ]


def bundled_examples() -> dict[str, Path]:
    if not EXAMPLES_DIR.is_dir():
        return {}
    return {p.name: p for p in sorted(EXAMPLES_DIR.iterdir()) if p.is_file()}


def safe_stem(name: str) -> str:
    """A client's file name reduced to a harmless stem for download names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._") or "upload"


class ModelCache:
    """The runtime of the last checkpoint used: loading a model takes seconds.

    Used by the job worker thread only.
    """

    def __init__(self, device: str):
        self.device = device
        self._path: Path | None = None
        self._runtime: Runtime | None = None

    def get(self, checkpoint: Path, reporter: JobProgress) -> Runtime:
        """The runtime of ``checkpoint``, loaded now (``reporter`` says so) unless it was
        the last one used. A job brings its own reporter: the runtime holds none."""
        from ..runtime.runtime import Runtime  # torch: imported when a job needs it

        if self._runtime is None or self._path != checkpoint:
            self._runtime = None  # free the previous model before loading the next
            reporter.start("loading model", None)
            self._runtime = Runtime(ModelOptions(checkpoint=checkpoint, device=self.device))
            self._path = checkpoint
        return self._runtime


@dataclass(frozen=True)
class JobInput:
    path: Path
    name: str  # what the user calls it


class WebService:
    """The server's state: settings, private workspace, job queue and loaded model."""

    def __init__(self, settings: ServeSettings):
        resolve_device(settings.device)  # a bad --device fails now, not at the first job
        # ... and so does a catalogue model that is not fetched (before any folder is made).
        self.checkpoints = known_checkpoints(settings.checkpoint)
        self.settings = settings
        self.workspace = Workspace()
        self.queue = JobQueue()
        self.models = ModelCache(settings.device)
        self.examples = bundled_examples()
        self.stopping = threading.Event()
        self._closed = False

    def config(self) -> dict[str, Any]:
        """What the page needs to draw its forms."""
        return {
            **form_schema(),
            "checkpoints": list(self.checkpoints),
            "fetchable_models": fetchable_models(self.checkpoints),
            "examples": list(self.examples),
            "max_upload_bytes": self.settings.max_upload_bytes,
            "max_upload_mb": self.settings.max_upload_mb,
            "max_video_seconds": self.settings.max_video_seconds,
        }

    # -- building jobs (in a thread: probing a video runs ffmpeg) --------------------

    def _input(self, form: ReceivedForm, field: str, what: str, names: dict[Path, str]) -> JobInput:
        """The uploaded file of ``field``, or the bundled example ``<field>_example``
        names; ``names`` learns what the user calls it."""
        uploaded = form.files.get(field)
        example = form.fields.get(f"{field}_example", "")
        if uploaded is not None:
            chosen = JobInput(uploaded.path, uploaded.name)
        elif example in self.examples:
            chosen = JobInput(self.examples[example], example)
        elif example:
            raise InputError(f"no bundled example named {example!r}")
        else:
            raise InputError(f"choose a {what}")
        names[chosen.path] = chosen.name
        return chosen

    def _check_length(self, video: JobInput) -> None:
        info = media.probe_video(video.path)
        seconds = info.duration
        if seconds is None and info.frame_count_estimate is not None:
            seconds = info.frame_count_estimate / float(info.fps)
        if seconds is None:
            raise InputError(f"{video.path} does not say how long it is")
        if seconds > self.settings.max_video_seconds:
            raise InputError(
                f"{video.path} lasts {seconds:.1f} s; this server takes videos up to "
                f"{self.settings.max_video_seconds:g} s (animate serve --max-video-seconds)"
            )

    def build_job(self, job_id: str, folder: Path, form: ReceivedForm) -> Job:
        names: dict[Path, str] = {}
        try:
            kind = form.fields.get("kind", "animate")
            if kind == "animate":
                return self._animate_job(job_id, folder, form, names)
            if kind == "crop":
                return self._crop_job(job_id, folder, form, names)
            if kind == "verify":
                return self._verify_job(job_id, folder, form, names)
            raise InputError(f"unknown job kind {kind!r}")
        except InputError as exc:
            raise InputError(rewrite_paths(str(exc), names, folder)) from None

    def _animate_job(
        self, job_id: str, folder: Path, form: ReceivedForm, names: dict[Path, str]
    ) -> Job:
        source = self._input(form, "source", "photo", names)
        driving = self._input(form, "driving", "driving video", names)
        options = animate_options(form.fields)
        extension = output_format(form.fields)
        checkpoint_name = form.fields.get("checkpoint") or next(iter(self.checkpoints), "")
        if checkpoint_name not in self.checkpoints:
            raise InputError(f"no checkpoint named {checkpoint_name!r} on this server")
        self._check_length(driving)
        checkpoint = self.checkpoints[checkpoint_name]
        output = folder / f"result.{extension}"
        download = f"{safe_stem(source.name)}__{safe_stem(driving.name)}.{extension}"

        def work(progress: JobProgress) -> list[OutputFile]:
            return [self._animate(checkpoint, source, driving, output, options, progress, download)]

        return Job(job_id, "animate", folder, work, form.paths(), names)

    def _animate(
        self,
        checkpoint: Path,
        source: JobInput,
        driving: JobInput,
        output: Path,
        options: AnimateOptions,
        progress: JobProgress,
        download: str,
    ) -> OutputFile:
        from ..runtime.job import AnimationJob

        runtime = self.models.get(checkpoint, progress)
        result = AnimationJob(runtime, options, progress).run(source.path, driving.path, output)
        width, height = result.size
        entry = runtime.catalogue_entry
        model = entry.name if entry is not None else checkpoint.name
        label = (
            f"{counted(result.frames, 'frame')} at {float(result.fps):.2f} fps, {width}×{height}, "
            f"{'with' if result.audio_kept else 'without'} sound; aligned on frame "
            f"{result.alignment.index} ({result.alignment.method}); {model}"
        )
        media_type = "video/webm" if output.suffix == ".webm" else "video/mp4"
        return OutputFile(output.name, output, download, label, media_type, result.provenance)

    def _verify_job(
        self, job_id: str, folder: Path, form: ReceivedForm, names: dict[Path, str]
    ) -> Job:
        uploaded = form.files.get("file")
        if uploaded is None:
            raise InputError("choose a file to verify")
        # Named by the server, with the client's extension when it is a known one.
        suffix = Path(uploaded.name).suffix.lower()
        path = uploaded.path
        if suffix in VERIFY_SUFFIXES:
            path = uploaded.path.with_name(uploaded.path.name + suffix)
            os.replace(uploaded.path, path)
        names[path] = uploaded.name
        if suffix not in IMAGE_SUFFIXES:
            self._check_length(JobInput(path, uploaded.name))

        def work(progress: JobProgress) -> list[OutputFile]:
            from ..provenance.verify import verify

            progress.start("verifying", None)
            found = verify(path, frame_seen=progress.advance).to_dict()
            progress.finish()
            found["path"] = uploaded.name
            # Messages name the upload by the user's name, never the server's path.
            job.verification = json.loads(rewrite_paths(json.dumps(found), names, folder))
            return []

        job = Job(job_id, "verify", folder, work, [path], names)
        return job

    def _crop_job(
        self, job_id: str, folder: Path, form: ReceivedForm, names: dict[Path, str]
    ) -> Job:
        video = self._input(form, "video", "video", names)
        options = crop_options(form.fields, self.settings.device)
        self._check_length(video)
        stem = safe_stem(video.name)

        def work(progress: JobProgress) -> list[OutputFile]:
            result = crop_video(video.path, folder / "clips", options, progress)
            return [
                OutputFile(
                    clip.path.name,
                    clip.path,
                    clip.path.name.replace(video.path.stem, stem, 1),
                    f"face {clip.index}: frames {clip.start_frame}–{clip.end_frame} "
                    f"({clip.start_seconds:.2f}–{clip.end_seconds:.2f} s), box "
                    f"{','.join(map(str, clip.box))}",
                )
                for clip in result.clips
            ]

        return Job(job_id, "crop", folder, work, form.paths(), names)

    # -- following jobs ---------------------------------------------------------------

    def status(self, job: Job) -> dict[str, Any]:
        finished = job.state.finished
        return {
            "id": job.id,
            "kind": job.kind,
            "state": job.state.value,
            "position": self.queue.position(job),
            "queue": self.queue.counts(),
            "progress": job.progress.snapshot(),
            "error": job.error,
            "seconds": round(job.seconds, 2) if finished and job.seconds else None,
            "outputs": [
                {
                    "url": f"/api/jobs/{job.id}/files/{o.name}",
                    "download": o.download_name,
                    "label": o.label,
                    "type": o.media_type,
                    "marks": o.marks,
                }
                for o in job.outputs
            ],
            "verification": job.verification,
        }

    def watch_for_abandonment(self, job: Job) -> None:
        """Discard ``job`` unless some page follows it again within the grace period."""
        asyncio.get_running_loop().call_later(
            self.settings.abandon_after_seconds, self._discard_if_unwatched, job
        )

    def _discard_if_unwatched(self, job: Job) -> None:
        if job.watchers == 0 and self.queue.get(job.id) is job:
            self.queue.discard(job)

    def stop(self) -> None:
        """Begin stopping: progress streams end and every job is cancelled."""
        self.stopping.set()
        for job in self.queue.jobs():
            job.progress.cancel()

    def close(self) -> None:
        """Cancel and remove everything, then the private folder itself (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.stop()
        self.queue.close()
        self.workspace.remove()
