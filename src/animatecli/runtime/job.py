"""One animation run on a shared runtime: source → alignment → animate → compose → write."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import faces, media
from ..engine import AnimationSession, GraphedSession, MotionMode, OneEuroSettings, frames_to_tensor
from ..errors import InputError, MediaError
from ..memory import release_freed_memory
from ..options import AnimateOptions
from ..progress import Reporter, SilentReporter
from ..streaming import BackgroundWriter
from ..words import counted
from .alignment import Alignment, DrivingCrop, align
from .animate import Session, Upscale, animate_frames
from .compose import composer
from .driving import DecodeStats, fitted_frames
from .marks import OutputMarks
from .preflight import CheckedOutput
from .real_face import say_if_bundled_model_on_real_face
from .results import AnimateResult, CodecUsed
from .runtime import Runtime
from .source import prepare_faces, prepare_source


class AnimationJob:
    """One run's options, reporter, notices and face detectors on a shared `Runtime`.

    Made per run and dropped after it: every job says its own notices once (a runtime
    reused by a server or a batch never swallows a later job's), and its face detectors
    are freed once the alignment pass is done.
    """

    def __init__(self, runtime: Runtime, options: AnimateOptions, reporter: Reporter | None = None):
        self.runtime = runtime
        self.options = options
        self.reporter = reporter or SilentReporter()
        self._said: set[str] = set()
        # Every notice the job said, in order (the ``notices`` of its result).
        self.notices: list[str] = []
        self._detectors: dict[tuple[str, float | None], faces.FaceDetector] = {}

    def notice(self, message: str) -> None:
        """Tell the reporter ``message``, once per job."""
        if message not in self._said:
            self._said.add(message)
            self.notices.append(message)
            self.reporter.notice(message)

    def detector(self, kind: str, min_face: float | None = None) -> faces.FaceDetector:
        """The face detector of ``kind`` (built once per ``min_face`` in this job)."""
        key = (kind, min_face)
        if key not in self._detectors:
            self._detectors[key] = faces.make_detector(
                kind, device=str(self.runtime.device), notify=self.notice, min_face=min_face
            )
        return self._detectors[key]

    def run(
        self,
        source_path: Path,
        driving_path: Path,
        output: str | os.PathLike[str] | CheckedOutput,
    ) -> AnimateResult:
        """Animate ``source_path`` with ``driving_path`` into ``output`` (a trailing ``/``
        in a string output asks for a folder of PNG frames). An output already checked
        (`preflight.check_job_files`) is not checked again.

        The process counts in the machine's thread share only while the job runs, so an
        idle server or notebook between jobs leaves other jobs every thread."""
        with self.runtime.threads.computing():
            result = self._run(Path(source_path), Path(driving_path), output)
            result.threads = self.runtime.threads.to_dict()
        result.notices = list(self.notices)
        return result

    def _run(
        self, source_path: Path, driving_path: Path, output: str | os.PathLike[str] | CheckedOutput
    ) -> AnimateResult:
        started = time.perf_counter()
        runtime = self.runtime
        runtime.check(self.options)
        if isinstance(output, CheckedOutput):
            output = output.path
        else:
            media.check_output_path(
                output, overwrite=self.options.overwrite, inputs=(source_path, driving_path)
            )
        encoder = media.choose_encoder(self.options.encoder, str(runtime.device), output)
        # Decided before any work: a key that cannot be read fails the job now.
        marks = OutputMarks.plan(
            self.options.provenance,
            output,
            runtime.describe_checkpoint(),
            (("source photo", source_path), ("driving video", driving_path)),
        )
        stages: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            stages[stage] = now - clock
            clock = now

        info = media.probe_video(driving_path)
        grouped = self.options.faces != "largest" and runtime.face_model
        group_faces = prepare_faces(self, source_path) if grouped else []
        if group_faces:
            source = group_faces[0]
        else:
            # One face, or a photo without any: the single-source path.
            self.options = replace(self.options, faces="largest")
            source = prepare_source(self, source_path)
        options = self.options
        say_if_bundled_model_on_real_face(self, source.full, info)
        # --upscale: the model is chosen, announced and loaded before the long passes.
        upscale, upscaled = self._upscaler(info, max(1, len(group_faces)))
        lap("source")
        crop: DrivingCrop | None = None
        # Every face gets its own best-frame alignment (one pass over the video each).
        alignments: list[Alignment] = []
        for face in group_faces or [source]:
            crop, alignment = align(self, face, info)
            alignments.append(alignment)
        alignment = alignments[0]
        # The face models served the alignment pass only: free them for the animate
        # stage, whose peak is the job's (dlib's landmark model is 66 MiB; the next job
        # reloads it in about half a second), and hand the freed heap back.
        self._detectors.clear()
        release_freed_memory()
        lap("align")
        strength = options.smoothing_strength()
        smoothing = None if strength is None else OneEuroSettings.of_strength(strength)
        session: Session
        if group_faces:
            session = runtime.animator.group_session(
                frames_to_tensor(np.stack([face.model_input for face in group_faces])),
                mode=MotionMode(options.mode),
                adapt_scale=options.adapt_scale,
                initials=[a.keypoints for a in alignments],
                smoothing=smoothing,
                fps=float(info.fps),
            )
        else:
            session = runtime.animator.session(
                frames_to_tensor(source.model_input),
                mode=MotionMode(options.mode),
                adapt_scale=options.adapt_scale,
                initial=alignment.keypoints,
                smoothing=smoothing,
                fps=float(info.fps),
            )
        compose, (width, height) = composer(
            source, options, runtime.frame_hw, group_faces, upscaled["scale"] if upscaled else 1
        )
        batch_size = runtime.batch_size(options)
        cuda_graph: str | None = None
        if runtime.model_options.cuda_graphs:
            if isinstance(session, AnimationSession):
                session = GraphedSession(session, batch_size)
            else:
                cuda_graph = "eager: no CUDA graph for --faces all|N"
        self.reporter.start("animating", info.frame_count_estimate)
        sink = media.open_sink(
            output,
            width,
            height,
            info.fps,
            crf=options.crf,
            preset=options.preset,
            audio_from=driving_path,
            overwrite=options.overwrite,
            nvenc_gpu=encoder.gpu,
            label=marks.label,
            seal=marks.seal,
        )
        decoding = DecodeStats()
        driving = fitted_frames(
            info,
            runtime.decoder,
            runtime.frame_hw,
            options.fit,
            crop=crop.path if crop else None,
            stats=decoding,
        )
        with sink:
            # The watermark goes onto the final composed frame, in the writer's thread
            # (overlapping the model's next batch).
            writer: BackgroundWriter[np.ndarray] = BackgroundWriter(
                sink.write if marks.embedder is None else lambda f: sink.write(marks.mark(f))
            )
            try:
                frames = animate_frames(
                    runtime, session, driving, batch_size, compose, writer, self.reporter, upscale
                )
            except BaseException:
                writer.cancel()  # the sink is aborted next; queued frames are moot
                raise
            writer.join()
            if frames == 0:
                raise InputError(f"{driving_path} contains no video frames")
            if decoding.errors:
                # ffmpeg concealed damaged data and delivered every frame: worth knowing,
                # not a failure.
                errors = counted(decoding.errors, "decode error")
                self.notice(
                    f"{driving_path.name} is damaged: ffmpeg reported {errors}; "
                    "some frames may show artefacts"
                )
            lap("animate")
            # The frames' freed buffers go back before the seal loads the C2PA library
            # (12 MiB) and hashes the file: else the job's peak came at its very end.
            release_freed_memory()
            sink.close()
            lap("finalize")
        self.reporter.finish()
        if alignment.index >= frames:
            raise MediaError(f"alignment frame {alignment.index} is past the video's end")
        return AnimateResult(
            output=Path(output),
            frames=frames,
            fps=info.fps,
            seconds=time.perf_counter() - started,
            device=str(runtime.device),
            checkpoint=runtime.describe_checkpoint(),
            alignment=alignment,
            audio_kept=sink.audio_kept,
            size=(width, height),
            upscale=upscaled,
            driving_crop=crop,
            smoothing=smoothing,
            encoder=CodecUsed(sink.encoder, encoder.reason),
            decoder=CodecUsed(runtime.decoder_name, runtime.decoder.reason),
            cuda_graph=session.reason if isinstance(session, GraphedSession) else cuda_graph,
            faces=list(zip(group_faces, alignments, strict=True)) if group_faces else None,
            stage_seconds=stages,
            decode_errors=decoding.errors,
            provenance=marks.to_dict(),
        )

    def _upscaler(
        self, info: media.VideoInfo, faces_per_frame: int
    ) -> tuple[Upscale | None, dict[str, Any] | None]:
        """The ``--upscale`` step for this job (None when off) and what it uses (for the
        result): ``auto``'s choice and a job estimated to take hours are said as notices."""
        request = self.options.upscale_options()
        if request is None:
            return None, None
        from ..upscale_options import estimate_seconds_per_frame, long_job_warning, resolve_upscaler
        from ..upscaling import net_shape

        runtime = self.runtime
        height, width = runtime.frame_hw
        cuda = runtime.device.type == "cuda"
        # Every face of every frame is upscaled; an unknown length counts as 10 s at 25 fps.
        frames = (info.frame_count_hint or 250) * faces_per_frame
        resolved = resolve_upscaler(request, cuda=cuda, frames=frames, height=height, width=width)
        if resolved.reason:
            self.notice(resolved.reason)
        upscaler = runtime.upscaler(resolved)
        seconds = estimate_seconds_per_frame(net_shape(upscaler.config), height, width, cuda=cuda)
        warning = long_job_warning(seconds, frames, resolved.name)
        if warning:
            self.notice(warning)

        def upscale(frames: np.ndarray) -> np.ndarray:
            return upscaler.upscale_uint8(torch.from_numpy(np.ascontiguousarray(frames))).numpy()

        return upscale, {"upscaler": resolved.name, "scale": upscaler.scale}
