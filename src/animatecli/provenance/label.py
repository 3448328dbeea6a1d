"""A plain "AI-generated" label in a container's own metadata, where C2PA does not reach.

What survives where (checked with the bundled ffmpeg, `ffmpeg -i` reading back):

| container | keys kept |
|---|---|
| MP4 | comment, description |
| MOV | comment (description is dropped) |
| MKV, WebM | comment, description and any custom tag (we add DIGITAL_SOURCE_TYPE) |
| GIF | none: ffmpeg's GIF muxer writes no metadata; we add a GIF comment extension |
| PNG | tEXt/iTXt chunks (Comment, Software, DigitalSourceType, and an XMP packet) |

Anyone can strip or forge such a label: it says what the file claims to be, nothing more.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import imageio_ffmpeg

from animatecli import __version__
from animatecli.atomic import temp_sibling
from animatecli.errors import MediaError
from animatecli.provenance.credentials import DIGITAL_SOURCE_TYPE, TOOL_NAME

DST_KEY = "DIGITAL_SOURCE_TYPE"
_LABEL_RE = re.compile(r"digitalSourceType=(\S+?)(?:;|$)")
_TOOL_RE = re.compile(r"tool=([^;]+)")


def label_text(model: str | None = None) -> str:
    """The one-line label: ``AI-generated; digitalSourceType=<IPTC URI>; tool=animatecli X``."""
    text = f"AI-generated; digitalSourceType={DIGITAL_SOURCE_TYPE}; tool={TOOL_NAME} {__version__}"
    if model:
        text += f"; model={model}"
    return text


def ffmpeg_metadata_args(container: str, model: str | None = None) -> list[str]:
    """``-metadata`` arguments labelling an output of ``container`` ("mp4", ".webm", ...).

    GIF gets none (its muxer writes no metadata): call `label_gif` on the finished file.
    """
    kind = container.lower().lstrip(".")
    text = label_text(model)
    if kind == "gif":
        return []
    args = ["-metadata", f"comment={text}"]
    if kind in ("mp4", "m4v", "mkv", "webm"):
        args += ["-metadata", f"description={text}"]
    if kind in ("mkv", "webm"):
        args += ["-metadata", f"{DST_KEY}={DIGITAL_SOURCE_TYPE}"]
    return args


def _xmp_packet(model: str | None) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'Iptc4xmpExt:DigitalSourceType="{DIGITAL_SOURCE_TYPE}" '
        f'xmp:CreatorTool="{TOOL_NAME} {__version__}{" " + model if model else ""}"/>'
        "</rdf:RDF></x:xmpmeta>"
    )


def png_text(model: str | None = None) -> Any:
    """A Pillow ``PngInfo`` with the label (pass as ``pnginfo=`` to ``Image.save``)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", label_text(model))
    info.add_text("Software", f"{TOOL_NAME} {__version__}")
    info.add_text("DigitalSourceType", DIGITAL_SOURCE_TYPE)
    info.add_itxt("XML:com.adobe.xmp", _xmp_packet(model))
    return info


def _gif_comment_block(text: str) -> bytes:
    data = text.encode("ascii", "replace")
    out = bytearray(b"\x21\xfe")
    for i in range(0, len(data), 255):
        chunk = data[i : i + 255]
        out += bytes([len(chunk)]) + chunk
    return bytes(out + b"\x00")


def label_gif(path: str | os.PathLike[str], model: str | None = None) -> None:
    """Insert a comment extension with the label into a GIF (rewritten atomically)."""
    target = Path(path)
    data = target.read_bytes()
    if data[:6] not in (b"GIF89a", b"GIF87a"):
        raise MediaError(f"{target} is not a GIF")
    header_end = 13
    if data[10] & 0x80:
        header_end += 3 * (2 ** ((data[10] & 0x07) + 1))
    # Comment extensions are a GIF89a feature.
    labelled = b"GIF89a" + data[6:header_end] + _gif_comment_block(label_text(model))
    labelled += data[header_end:]
    temp = temp_sibling(target, target.suffix)
    try:
        temp.write_bytes(labelled)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise MediaError(f"cannot label {target}: {exc.strerror or exc}") from None


def _skip_sub_blocks(data: bytes, pos: int, out: list[bytes] | None = None) -> int:
    while pos < len(data):
        size = data[pos]
        pos += 1
        if size == 0:
            return pos
        if out is not None:
            out.append(data[pos : pos + size])
        pos += size
    return pos


def _gif_comments(data: bytes) -> list[str]:
    """The text of every comment extension of a GIF."""
    comments: list[str] = []
    if data[:3] != b"GIF" or len(data) < 13:
        return comments
    pos = 13
    if data[10] & 0x80:
        pos += 3 * (2 ** ((data[10] & 0x07) + 1))
    while pos < len(data):
        block = data[pos]
        if block == 0x21 and pos + 1 < len(data):  # extension
            parts: list[bytes] = []
            label = data[pos + 1]
            pos = _skip_sub_blocks(data, pos + 2, parts if label == 0xFE else None)
            if label == 0xFE:
                comments.append(b"".join(parts).decode("latin-1"))
        elif block == 0x2C and pos + 10 <= len(data):  # image descriptor
            packed = data[pos + 9]
            pos += 10
            if packed & 0x80:
                pos += 3 * (2 ** ((packed & 0x07) + 1))
            pos = _skip_sub_blocks(data, pos + 1)  # LZW code size, then the image data
        else:  # trailer (0x3B) or damage
            break
    return comments


def _ffmpeg_metadata(path: Path) -> dict[str, str]:
    """The container-level metadata ``ffmpeg -i`` prints (keys lower-cased)."""
    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
    )
    fields: dict[str, str] = {}
    in_input = in_meta = False
    for line in proc.stderr.splitlines():
        if line.startswith("Input #0"):
            in_input = True
            continue
        if not in_input:
            continue
        stripped = line.strip()
        if stripped == "Metadata:" and line.startswith("  ") and not line.startswith("    "):
            in_meta = True
            continue
        if in_meta:
            if not line.startswith("    ") or ":" not in stripped:
                break
            key, _, value = stripped.partition(":")
            fields[key.strip().lower()] = value.strip()
    return fields


@dataclass
class LabelReport:
    """The label found in a file's metadata, if any."""

    present: bool
    digital_source_type: str | None = None
    tool: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # where it was found: key -> text

    @property
    def ai_generated(self) -> bool:
        return self.digital_source_type == DIGITAL_SOURCE_TYPE

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ai_generated"] = self.ai_generated
        return out


def _report(fields: dict[str, str]) -> LabelReport:
    found: dict[str, str] = {}
    dst = tool = None
    for key, value in fields.items():
        if key.lower() in (DST_KEY.lower(), "digitalsourcetype") and value.startswith("http"):
            dst = dst or value.strip()
            found[key] = value
        elif m := _LABEL_RE.search(value):
            dst = dst or m.group(1)
            found[key] = value
            if t := _TOOL_RE.search(value):
                tool = tool or t.group(1).strip()
        elif "Iptc4xmpExt:DigitalSourceType" in value:
            m2 = re.search(r'DigitalSourceType="([^"]+)"', value)
            if m2:
                dst = dst or m2.group(1)
                found[key] = value
    return LabelReport(bool(found), dst, tool, found)


def read_label(path: str | os.PathLike[str]) -> LabelReport:
    """Find our label (or any IPTC digital source type) in a PNG, GIF or video's metadata."""
    p = Path(path)
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x89PNG"):
        from PIL import Image

        with Image.open(p) as im:
            im.load()
            return _report({str(k): str(v) for k, v in getattr(im, "text", {}).items()})
    if head.startswith(b"GIF8"):
        comments = _gif_comments(p.read_bytes())
        return _report({f"comment{i}": c for i, c in enumerate(comments)})
    return _report(_ffmpeg_metadata(p))
