"""The per-session key pair ballots are sealed to, whose private half never enters the database.

When a session opens, an X25519 key pair is made for it. The public key is stored with the
session; every ballot (and every clerk's paper entry) is sealed to it at submit
(survey/boxes.py: an ephemeral X25519 key shared by at most 64 boxes of one process,
HKDF-SHA256 and ChaCha20-Poly1305, as in libsodium's sealed box). Only ciphertext reaches the
database, its write-ahead log and any backup made while voting.

The private key is a file of its own (0600) in the instance folder, or in SESSION_KEY_DIR
when several app servers share one directory. The close opens every seal in one shuffled
batch and, once that has committed, overwrites and deletes the file: what the log kept of
each vote (the code's row next to a sealed ballot) then leads to ciphertext nobody can open.
"""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

from survey.boxes import KEY_BYTES
from survey.services import ServiceError

ENTRY_INFO = b"survey paper entry digest v1"


class SessionKeyMissing(ServiceError):
    """The session's private key file is not where the configuration says."""

    status = 500


def key_dir() -> Path:
    configured = current_app.config.get("SESSION_KEY_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "session_keys"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def key_path(session_id: int) -> Path:
    return key_dir() / f"session-{int(session_id)}.key"


def create_session_key(session_id: int) -> str:
    """Make the session's key pair, write the private key (0600) and return the public (hex).

    A previous file (an opening that did not commit) is replaced: the public key that commits
    with the session is always the one whose private half is on disk.
    """
    private = X25519PrivateKey.generate()
    raw = private.private_bytes_raw()
    path = key_path(session_id)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _sync_dir(path.parent)
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def private_key(session_id: int) -> bytes:
    """Return the session's raw private key, or refuse clearly when it is not there."""
    try:
        raw = key_path(session_id).read_bytes()
    except FileNotFoundError:
        raise SessionKeyMissing(
            f"找不到本测评的开票密钥文件（{key_path(session_id)}）。"
            "请检查 SESSION_KEY_DIR 设置：多台服务器须共用同一个密钥目录。"
        ) from None
    if len(raw) != KEY_BYTES:
        raise SessionKeyMissing(f"本测评的开票密钥文件已损坏（{key_path(session_id)}）。")
    return raw


def has_private_key(session_id: int) -> bool:
    return key_path(session_id).exists()


def destroy_session_key(session_id: int) -> None:
    """Overwrite the private key with random bytes, flush, then delete it; a no-op if gone."""
    path = key_path(session_id)
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(KEY_BYTES))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink(missing_ok=True)
    _sync_dir(path.parent)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- paper entries ------------------------------------------------------------------------


def entry_digest(private_raw: bytes, canonical: str) -> str:
    """Keyed digest of a paper entry: equal entries match, and without the key it says nothing."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=ENTRY_INFO).derive(private_raw)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
