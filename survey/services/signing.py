"""The instance's Ed25519 signing key: created on first use in the instance folder (0600).

Like instance/secret_key it never enters the database: a copy of the database alone cannot
sign. Several app servers must share the file (see README, 部署).
"""

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from flask import current_app

from survey.config import write_once

KEY_FILE = "signing_key.pem"


def key_path() -> Path:
    configured = current_app.config.get("SIGNING_KEY_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / KEY_FILE


def _create(path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    write_once(path, pem)


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> Ed25519PrivateKey:
    key = load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} 不是 Ed25519 私钥")
    return key


def private_key() -> Ed25519PrivateKey:
    path = key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create(path)
    return _load(str(path), path.stat().st_mtime_ns)


def public_pem() -> bytes:
    return private_key().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def sign(message: bytes) -> str:
    """Return the base64 Ed25519 signature (deterministic: the same message, the same text)."""
    return base64.b64encode(private_key().sign(message)).decode()


def instance_fingerprint() -> str:
    return fingerprint(public_pem())


# --- checks that need no private key (an archivist's machine has none) -----------------


def public_key_raw(pem: bytes) -> bytes:
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("不是 Ed25519 公钥")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def fingerprint(pem: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, in groups of four hex digits to read aloud."""
    digest = hashlib.sha256(public_key_raw(pem)).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, 64, 4))


def short_fingerprint(full: str) -> str:
    """The first eight groups, for a footer; sheets print the whole fingerprint."""
    return " ".join(full.split()[:8])


def signature_valid(pem: bytes, message: bytes, signature_b64: str | None) -> bool:
    """Tell whether signature_b64 is this public key's Ed25519 signature of message."""
    if not signature_b64 or not isinstance(signature_b64, str):
        return False
    try:
        key = load_pem_public_key(pem)
        if not isinstance(key, Ed25519PublicKey):
            return False
        key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
