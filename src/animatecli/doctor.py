"""``animate doctor``: what this installation can do, without downloading anything."""

from __future__ import annotations

import platform
import subprocess
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from . import __version__
from .errors import AnimateError
from .options import ModelOptions


def _ffmpeg() -> dict[str, Any]:
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        first = subprocess.run(
            [exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=20
        ).stdout.splitlines()
        version = first[0].split(" Copyright")[0] if first else "unknown"
        return {"path": exe, "version": version, "ok": True}
    except Exception as exc:  # doctor reports every failure instead of raising
        return {"path": None, "version": None, "ok": False, "error": str(exc)}


def _video_engines() -> dict[str, Any]:
    """Whether NVENC and NVDEC work here (the probes the jobs use, on the first GPU)."""
    from .media import probe_nvdec, probe_nvenc

    return {
        name: {"available": probe.available, "reason": probe.reason}
        for name, probe in (("nvenc", probe_nvenc(0)), ("nvdec", probe_nvdec(0)))
    }


def _devices() -> list[dict[str, Any]]:
    devices = [{"name": "cpu", "detail": f"{torch.get_num_threads()} threads"}]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(
                {
                    "name": f"cuda:{index}",
                    "detail": f"{props.name}, {props.total_memory / 2**30:.1f} GiB",
                }
            )
    return devices


def _checkpoint(options: ModelOptions) -> dict[str, Any]:
    from .models import load_model

    try:
        loaded, _, origin = load_model(options)
    except AnimateError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "origin": origin, **loaded.describe()}


def _face_backends() -> list[dict[str, Any]]:
    """Every face detector backend, in the order ``--detector auto`` tries them."""
    from .faces import backend_statuses, face_alignment_weight_paths

    rows = []
    for status in backend_statuses():
        row: dict[str, Any] = {
            "name": status.name,
            "usable": status.usable,
            "landmarks": status.landmarks,
            "reason": status.reason,
        }
        if status.name == "face-alignment":
            row["weights"] = [str(p) for p in face_alignment_weight_paths()]
        rows.append(row)
    return rows


def _threads(requested: int | None) -> dict[str, Any]:
    """The compute threads a job started now would get, and why (`threads.ThreadShare`):
    what the machine grants this process, shared by the animate jobs computing now."""
    from .threads import ThreadShare, thread_budget

    share = ThreadShare(thread_budget(requested), lambda count: None)
    share.rebalance()
    return share.to_dict()


def _models() -> dict[str, Any]:
    """The catalogue models and which are in the cache (sizes only: nothing is hashed)."""
    from . import catalogue
    from .store import list_models

    return {
        "cache": str(catalogue.models_dir()),
        "models": [
            {
                "name": state.entry.name,
                "file": state.entry.file_name,
                "size": state.entry.size,
                "domain": state.entry.domain,
                "cached": state.cached,
                "path": str(state.path) if state.cached else None,
                "partial_bytes": state.partial_bytes,
            }
            for state in list_models()
        ],
    }


def collect(model: ModelOptions | None = None) -> dict[str, Any]:
    """Everything doctor reports, as JSON-able data; ``model`` is the model it loads
    (default: the one ``animate run`` would use, on the CPU)."""
    return {
        "animatecli": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cuda_version": torch.version.cuda,
        "devices": _devices(),
        "threads": _threads(model.threads if model else None),
        "ffmpeg": _ffmpeg(),
        "video_engines": _video_engines(),
        "checkpoint": _checkpoint(model or ModelOptions(device="cpu")),
        "face_backends": _face_backends(),
        "models": _models(),
    }


def render(report: dict[str, Any], console: Console) -> None:
    """Print the report as a table."""
    table = Table(title="animate doctor", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value")
    table.add_row("animatecli", report["animatecli"])
    table.add_row("python", report["python"])
    table.add_row("torch", report["torch"])
    cuda = f"yes (CUDA {report['cuda_version']})" if report["cuda_available"] else "no"
    table.add_row("CUDA", cuda)
    for device in report["devices"]:
        table.add_row(f"device {device['name']}", device["detail"])
    table.add_row("threads for a job", report["threads"]["reason"])
    ffmpeg = report["ffmpeg"]
    table.add_row("ffmpeg", ffmpeg["version"] if ffmpeg["ok"] else f"[red]{ffmpeg['error']}")
    for engine_name, engine in report["video_engines"].items():
        unusable = f"[yellow]not usable[/]: {engine['reason']}"
        state = "[green]works[/] (used by jobs on CUDA)" if engine["available"] else unusable
        table.add_row(f"ffmpeg {engine_name.upper()}", state)
    ckpt = report["checkpoint"]
    if ckpt["ok"]:
        shape = "x".join(map(str, ckpt["config"]["frame_shape"]))
        name = ckpt["config_name"] or "custom"
        table.add_row("checkpoint", f"{ckpt['path']} ({ckpt['origin']})")
        warp = "align_corners " + ("on" if ckpt["align_corners"] else "off")
        table.add_row(
            "model",
            f"{ckpt['family'].upper()} ({ckpt['kind']}), config {name} "
            f"({ckpt['config_source']}), {shape}, {warp}",
        )
        table.add_row("modes", ", ".join(ckpt["modes"]))
    else:
        table.add_row("checkpoint", f"[red]{ckpt['error']}")
    chosen = next((b["name"] for b in report["face_backends"] if b["usable"]), None)
    for backend in report["face_backends"]:
        kind = "boxes + 68 landmarks" if backend["landmarks"] else "boxes only"
        if backend["usable"]:
            auto = ", used by --detector auto" if backend["name"] == chosen else ""
            state = f"[green]usable[/] ({kind}{auto})"
        else:
            state = f"[yellow]not usable[/]: {backend['reason']}"
        table.add_row(f"faces: {backend['name']}", state)
    for model in report["models"]["models"]:
        size = "size unknown" if model["size"] is None else f"{model['size'] / 2**20:.0f} MiB"
        state = (
            f"[green]cached[/] ({model['path']})"
            if model["cached"]
            else f"not cached: animate models fetch {model['name']}"
        )
        table.add_row(f"model {model['name']}", f"{model['file']}, {size}, {state}")
    table.add_row("model cache", report["models"]["cache"])
    console.print(table)
