"""Media I/O: load pictures, probe and stream-decode videos, write outputs atomically,
and choose NVIDIA's encode/decode engines where they work (`hardware`).

Everything goes through Pillow/OpenCV (stills) and the ffmpeg binary bundled with
imageio-ffmpeg (video, audio, GIF). Frames are always H×W×3 uint8 RGB numpy arrays.
"""

from animatecli.media._ffmpeg import error_reason, run_ffmpeg, set_codec_threads
from animatecli.media.hardware import (
    CodecChoice,
    HardwareProbe,
    choose_decoder,
    choose_encoder,
    probe_nvdec,
    probe_nvenc,
)
from animatecli.media.image import (
    ALPHA_BACKGROUND,
    PAD_COLOR,
    FitGeometry,
    FitMode,
    fit_box,
    fit_geometry,
    fit_image,
    load_image,
    save_png,
)
from animatecli.media.sinks import (
    AUDIO_BITRATE,
    FRAME_NAME_FORMAT,
    OUTPUT_VIDEO_EXTENSIONS,
    FrameSink,
    GifSink,
    OutputExistsError,
    OutputKind,
    PngDirSink,
    VideoFileSink,
    check_output_path,
    open_sink,
    output_kind,
)
from animatecli.media.video import (
    StreamTiming,
    VideoInfo,
    VideoReader,
    count_frames,
    has_audio,
    probe_audio_codec,
    probe_streams,
    probe_video,
    snap_fps,
)

__all__ = [
    "ALPHA_BACKGROUND",
    "AUDIO_BITRATE",
    "FRAME_NAME_FORMAT",
    "OUTPUT_VIDEO_EXTENSIONS",
    "PAD_COLOR",
    "CodecChoice",
    "FitGeometry",
    "FitMode",
    "FrameSink",
    "GifSink",
    "HardwareProbe",
    "OutputExistsError",
    "OutputKind",
    "PngDirSink",
    "StreamTiming",
    "VideoFileSink",
    "VideoInfo",
    "VideoReader",
    "check_output_path",
    "choose_decoder",
    "choose_encoder",
    "count_frames",
    "error_reason",
    "fit_box",
    "fit_geometry",
    "fit_image",
    "has_audio",
    "load_image",
    "open_sink",
    "output_kind",
    "probe_audio_codec",
    "probe_nvdec",
    "probe_nvenc",
    "probe_streams",
    "probe_video",
    "run_ffmpeg",
    "save_png",
    "set_codec_threads",
    "snap_fps",
]
