"""C2PA Content Credentials for MP4 outputs: sign (atomically) and read back.

The manifest says the video was made by a trained model (IPTC digital source type
``trainedAlgorithmicMedia`` on a ``c2pa.created`` action), which tool and model made it, and
which inputs went in, by SHA-256 only: never their pixels, names or paths.

Signing uses the user's certificate chain and key when given; otherwise a key and a
two-certificate chain (EC P-256 root + leaf) made once in the user's config folder. A
self-made root is on no trust list, so the reader reports ``signingCredential.untrusted``:
such credentials prove the file is unchanged since signing (integrity), not who signed it.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from animatecli import __version__
from animatecli.atomic import temp_sibling
from animatecli.errors import CredentialsError

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
TOOL_NAME = "animatecli"
INPUTS_ASSERTION = "org.animatecli.inputs"
# Where the self-made signing identity lives inside the config folder.
SIGNING_DIR_NAME = "signing"
KEY_FILE = "key.pem"
CHAIN_FILE = "chain.pem"
# A manifest "untrusted" code: the chain is not on a trust list, the signature itself is fine.
UNTRUSTED_CODE = "signingCredential.untrusted"
_HASH_CHUNK = 1 << 20


def config_home() -> Path:
    """The user's animatecli config folder: $ANIMATE_CONFIG_HOME, else
    $XDG_CONFIG_HOME/animatecli, else ~/.config/animatecli (not created here)."""
    explicit = os.environ.get("ANIMATE_CONFIG_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "animatecli"


@dataclass(frozen=True)
class SigningIdentity:
    """A PEM certificate chain (leaf first) and its leaf's PEM private key."""

    chain_pem: bytes
    key_pem: bytes
    self_made: bool  # made by animatecli: proves integrity, not identity
    origin: str  # the folder or the files it came from, for messages


def load_identity(
    cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]
) -> SigningIdentity:
    """The user's own chain and key (PEM files). Raises `CredentialsError` if unreadable."""
    try:
        chain = Path(cert_path).read_bytes()
        key = Path(key_path).read_bytes()
    except OSError as exc:
        raise CredentialsError(
            f"cannot read the signing certificate or key: {exc.strerror or exc} ({exc.filename})"
        ) from None
    if b"-----BEGIN CERTIFICATE-----" not in chain:
        raise CredentialsError(f"{cert_path} holds no PEM certificate")
    if b"PRIVATE KEY-----" not in key:
        raise CredentialsError(f"{key_path} holds no PEM private key")
    return SigningIdentity(chain, key, self_made=False, origin=f"{cert_path}, {key_path}")


def _make_chain() -> tuple[bytes, bytes]:
    """A fresh EC P-256 root (CA) and leaf (signing) certificate: (chain PEM, leaf key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=3650)
    org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "animatecli (self-made, unverified)")
    root_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "animatecli local root"), org])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "animatecli local signer"), org])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(leaf_name)
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    # The root's private key is not kept: nothing else will ever be signed with it.
    chain = leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(
        serialization.Encoding.PEM
    )
    key = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return chain, key


def self_made_identity(config: Path | None = None) -> SigningIdentity:
    """The self-made identity in ``config``/signing, made on first use.

    Made in a private temporary folder beside it, then renamed into place in one step:
    of several processes doing this at once, one rename wins and the others use its files.
    """
    folder = (config or config_home()) / SIGNING_DIR_NAME
    if not (folder / KEY_FILE).is_file():
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = temp_sibling(folder, "")
            staging.mkdir(mode=0o700)
            try:
                chain, key = _make_chain()
                key_fd = os.open(staging / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(key_fd, "wb") as fh:
                    fh.write(key)
                (staging / CHAIN_FILE).write_bytes(chain)
                try:
                    os.rename(staging, folder)
                except OSError as exc:
                    # Another process made it first (a non-empty folder is not replaced).
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        except OSError as exc:
            raise CredentialsError(
                f"cannot make a signing key in {folder}: {exc.strerror or exc}"
            ) from None
    try:
        identity = SigningIdentity(
            (folder / CHAIN_FILE).read_bytes(),
            (folder / KEY_FILE).read_bytes(),
            self_made=True,
            origin=str(folder),
        )
    except OSError as exc:
        raise CredentialsError(f"cannot read the signing key in {folder}: {exc.strerror}") from None
    return identity


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


_MIME = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".gif": "image/gif",
}


@dataclass(frozen=True)
class Ingredient:
    """One input, recorded by role, media type and content hash only."""

    role: str  # "source photo", "driving video", "input video"
    media_type: str
    sha256: str

    @classmethod
    def of_file(cls, role: str, path: str | os.PathLike[str]) -> Ingredient:
        p = Path(path)
        try:
            digest = sha256_file(p)
        except OSError as exc:
            raise CredentialsError(f"cannot hash {role} {p}: {exc.strerror or exc}") from None
        return cls(role, _MIME.get(p.suffix.lower(), "application/octet-stream"), digest)


@dataclass(frozen=True)
class Claim:
    """What the credentials say about a video: who made it, with what, from what."""

    model_family: str  # "fomm", "tpsmm"
    checkpoint: str  # the checkpoint's name (file name or registry name), never a path
    ingredients: tuple[Ingredient, ...] = ()
    output_id: str | None = None  # the watermark's output id, hex, when there is one


def build_manifest(claim: Claim, title: str) -> dict[str, Any]:
    """The manifest definition given to `c2pa.Builder`."""
    agent = {
        "name": TOOL_NAME,
        "version": __version__,
    }
    parameters: dict[str, Any] = {
        "model_family": claim.model_family,
        "checkpoint": claim.checkpoint,
    }
    if claim.output_id:
        parameters["watermark_output_id"] = claim.output_id
    return {
        "claim_generator_info": [{"name": TOOL_NAME, "version": __version__}],
        "title": title,
        "ingredients": [
            {
                # No thumbnail, no data: the role, the media type and the hash only.
                "title": ing.role,
                "format": ing.media_type,
                "relationship": "inputTo",
                "instance_id": f"sha256:{ing.sha256}",
            }
            for ing in claim.ingredients
        ],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": DIGITAL_SOURCE_TYPE,
                            "softwareAgent": {
                                **agent,
                                "model": f"{claim.model_family}/{claim.checkpoint}",
                            },
                            "parameters": parameters,
                        }
                    ]
                },
            },
            {
                "label": INPUTS_ASSERTION,
                "data": {
                    "inputs": [
                        {"role": i.role, "format": i.media_type, "sha256": i.sha256}
                        for i in claim.ingredients
                    ]
                },
            },
        ],
    }


def sign_mp4(
    path: str | os.PathLike[str],
    claim: Claim,
    identity: SigningIdentity,
    *,
    final: str | os.PathLike[str] | None = None,
) -> None:
    """Embed signed credentials into the MP4 at ``path`` (replaced atomically).

    The signed copy is written to a hidden temporary beside it and renamed over it, so an
    interrupted or failed signing leaves the unsigned file as it was and nothing else.
    ``final``: where ``path`` (a sink's temporary) will be renamed to once signed; it names
    the manifest's title and the temporary (so a killed run's leftover is found as one of
    ``final``'s). Raises `CredentialsError` (one line) on any failure.
    """
    import c2pa

    target = Path(path)
    named = Path(final) if final is not None else target
    temp = temp_sibling(target.parent / named.name, target.suffix)
    try:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                c2pa.C2paSigningAlg.ES256, identity.chain_pem, identity.key_pem, None
            )
        )
        builder = c2pa.Builder(build_manifest(claim, named.name))
        with open(target, "rb") as src, open(temp, "wb") as dst:
            builder.sign(signer, "video/mp4", src, dst)
        # Keep the unsigned file's permissions (the temporary got the umask's).
        shutil.copymode(target, temp)
        os.replace(temp, target)
    except c2pa.C2paError as exc:
        raise CredentialsError(
            f"cannot sign {target} with the key from {identity.origin}: {_first_line(exc)}"
        ) from None
    except OSError as exc:
        raise CredentialsError(f"cannot sign {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


@dataclass
class CredentialsReport:
    """What a file's Content Credentials say, if anything.

    ``state``: "valid" (signature and content hashes check out), "tampered" (a manifest is
    there but the content or the manifest changed since signing), "absent" (none), or
    "unreadable" (the file could not be parsed by the reader).
    """

    state: str
    codes: list[str] = field(
        default_factory=list
    )  # failure codes, e.g. assertion.bmffHash.mismatch
    trusted_signer: bool = False  # False for self-made roots: integrity, not identity
    issuer: str | None = None
    digital_source_type: str | None = None
    software_agent: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None
    ingredients: list[dict[str, str]] = field(default_factory=list)
    detail: str | None = None

    @property
    def ai_generated(self) -> bool:
        return self.digital_source_type == DIGITAL_SOURCE_TYPE

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ai_generated"] = self.ai_generated
        return out


def read_credentials(path: str | os.PathLike[str]) -> CredentialsReport:
    """Read and validate the C2PA manifest store of ``path`` (any format c2pa reads)."""
    import c2pa

    p = Path(path)
    try:
        reader = c2pa.Reader.try_create(str(p))
    except c2pa.C2paError as exc:
        # "not supported" formats (WebM, GIF...) carry no manifest we can read.
        text = _first_line(exc)
        if "NotSupported" in type(exc).__name__ or "not supported" in text.lower():
            return CredentialsReport("absent", detail=f"format not covered by C2PA: {text}")
        return CredentialsReport("unreadable", detail=text)
    except OSError as exc:
        return CredentialsReport("unreadable", detail=exc.strerror or str(exc))
    if reader is None:
        return CredentialsReport("absent")
    with reader:
        store = json.loads(reader.json())
    return _report_from_store(store)


def _report_from_store(store: dict[str, Any]) -> CredentialsReport:
    state = str(store.get("validation_state", "")).lower()
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [f.get("code", "") for f in results.get("failure", [])]
    if not results:
        failures = [s.get("code", "") for s in store.get("validation_status", [])]
    hard_failures = [c for c in failures if c != UNTRUSTED_CODE]
    report = CredentialsReport(
        state="valid" if state in ("valid", "trusted") and not hard_failures else "tampered",
        codes=failures,
        trusted_signer=state == "trusted" or (UNTRUSTED_CODE not in failures and not hard_failures),
    )
    manifest = (store.get("manifests") or {}).get(store.get("active_manifest", ""), {})
    report.issuer = (manifest.get("signature_info") or {}).get("issuer")
    for assertion in manifest.get("assertions", []):
        label = assertion.get("label", "")
        data = assertion.get("data") or {}
        if label.startswith("c2pa.actions"):
            for action in data.get("actions", []):
                if action.get("action") == "c2pa.created":
                    report.digital_source_type = action.get("digitalSourceType")
                    agent = action.get("softwareAgent")
                    report.software_agent = agent if isinstance(agent, dict) else {"name": agent}
                    report.parameters = action.get("parameters")
        elif label == INPUTS_ASSERTION:
            report.ingredients = [
                {k: str(v) for k, v in item.items()} for item in data.get("inputs", [])
            ]
    return report
