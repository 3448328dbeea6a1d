"""The exceptions a user can cause, each carrying the exit code the CLI reports.

The CLI turns every `AnimateError` into one line on stderr and its `exit_code`; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ExitCode:
    """Documented process exit codes (also listed in the README)."""

    OK = 0
    FAILURE = 1  # runtime failure: decoding, encoding, model execution
    USAGE = 2  # bad arguments or bad input files
    NO_FACE = 3  # face processing found no face where one was required
    PARTIAL = 4  # batch: at least one pair failed
    NOT_MARKED = 5  # verify: a file carries none of our marks (no credentials, label or watermark)
    TAMPERED = 6  # verify: Content Credentials present but invalid (file changed after signing)
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM (128 + 15)


class AnimateError(Exception):
    """Base class: a failure with a one-line message for the user."""

    exit_code: int = ExitCode.FAILURE


class InputError(AnimateError):
    """A user-supplied file or value cannot be used (missing, unreadable, wrong kind)."""

    exit_code = ExitCode.USAGE


class CheckpointError(InputError):
    """A checkpoint file is not a loadable official or animatecli checkpoint."""


class MediaError(AnimateError):
    """Decoding, encoding or muxing failed while running."""


class OutputError(InputError):
    """The output cannot be written (exists without --overwrite, unwritable folder)."""


class OutputExistsError(OutputError):
    """The target exists (or appeared while we worked) and overwriting was not asked for."""


class DeviceError(InputError):
    """The requested compute device is not available."""


class NoFaceError(AnimateError):
    """No face was found where one is needed."""

    exit_code = ExitCode.NO_FACE


class DownloadError(AnimateError):
    """A requested download failed (no network, server error, checksum mismatch)."""


class CredentialsError(AnimateError):
    """Content Credentials could not be made or embedded (unreadable key, signing failed)."""
