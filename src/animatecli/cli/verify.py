"""``animate verify FILE…``: which of our marks each file carries (docs/provenance.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from ..errors import ExitCode, InputError
from .app import app, emit_json, make_reporter, user_errors
from .declarations import JsonOpt, QuietOpt

if TYPE_CHECKING:
    from ..provenance.verify import VerifyReport

VERDICT_TEXT = {
    "marked": "[green]marked as AI-generated[/]",
    "not_marked": "[yellow]not marked[/] (no credentials, label or watermark found)",
    "tampered": "[red]tampered[/]: its Content Credentials do not match its content",
    "error": "[red]unreadable[/]",
}


def _check_files(files: list[Path]) -> None:
    """Usage errors (exit 2) before any file is read."""
    for path in files:
        if path.is_dir():
            raise InputError(
                f"{path} is a folder: verify its files (e.g. {path / 'frame_000000.png'})"
            )
        if not path.exists():
            raise InputError(f"{path}: no such file")


def _credentials_line(creds: dict[str, Any]) -> str:
    state = creds["state"]
    if state == "absent":
        return "absent"
    if state == "unreadable":
        return f"unreadable ({creds.get('detail') or 'the reader failed'})"
    agent = creds.get("software_agent") or {}
    claims = ", ".join(
        part
        for part in (
            "AI-generated" if creds.get("ai_generated") else "not claimed AI-generated",
            f"by {agent.get('name', '?')} {agent.get('version', '')}".rstrip(),
            f"model {agent['model']}" if agent.get("model") else "",
            f"{len(creds.get('ingredients') or [])} inputs by hash",
        )
        if part
    )
    signer = (
        "trusted signer"
        if creds.get("trusted_signer")
        else f"signer not on a trust list ({creds.get('issuer') or 'unknown'}): "
        "proves integrity, not identity"
    )
    if state == "tampered":
        return f"[red]tampered[/] ({', '.join(creds.get('codes') or [])}); claimed: {claims}"
    return f"valid, {signer}; claims: {claims}"


def _watermark_line(mark: dict[str, Any] | None) -> str:
    if mark is None:
        return "not checked"
    seen = f"{mark['windows_detected']}/{mark['windows']} one-second windows"
    strength = f"max z {mark['max_z']} {mark['hypothesis']} (threshold {mark['z_threshold']})"
    if not mark["detected"]:
        return f"not detected ({seen}, {strength})"
    output_id = mark["output_id"] or "unreadable"
    return f"detected in {seen}, {strength}; output id {output_id}"


def _render(report: dict[str, Any], console: Console) -> None:
    print_ = console.print
    print_(f"[bold]{report['path']}[/]: {VERDICT_TEXT[report['verdict']]}", highlight=False)
    if report["error"]:
        print_(f"  error: {report['error']}", highlight=False)
    print_(f"  credentials: {_credentials_line(report['credentials'])}", highlight=False)
    label = report["label"]
    label_text = (
        f"present ({label.get('tool') or 'unknown tool'}"
        f"{', AI-generated' if label.get('ai_generated') else ''})"
        if label.get("present")
        else "absent"
    )
    print_(f"  label: {label_text}", highlight=False)
    print_(f"  watermark: {_watermark_line(report['watermark'])}", highlight=False)


def _verify_one(path: Path, quiet: bool, json_output: bool) -> VerifyReport:
    from ..media.video import probe_video
    from ..provenance.verify import verify

    reporter = make_reporter(quiet, json_output)
    total: int | None = None
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        try:
            total = probe_video(path).frame_count_estimate
        except Exception:  # an unreadable file: verify reports it as such
            total = None
    reporter.start("verifying", total)
    try:
        return verify(path, frame_seen=reporter.advance)
    finally:
        reporter.finish()


@app.command("verify")
def verify_command(
    files: Annotated[list[Path], typer.Argument(help="Videos or images to check.")],
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check files for animate's marks: Content Credentials, the AI-generated label and the
    invisible watermark. Exit codes: 0 marked, 5 not marked, 6 tampered (credentials
    invalid), 1 a file could not be read, 2 usage; several files: the worst wins."""
    with user_errors():
        _check_files(files)
        from ..provenance.verify import worst_exit

        reports = []
        console = Console(highlight=False, soft_wrap=True)
        for path in files:
            report = _verify_one(path, quiet, json_output)
            reports.append(report)
            if not json_output and not quiet:
                _render(report.to_dict(), console)
        code = worst_exit(reports)
    if json_output:
        emit_json({"files": [r.to_dict() for r in reports], "exit_code": code})
    if code != ExitCode.OK:
        raise typer.Exit(code)
