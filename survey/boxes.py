"""Sealed boxes: a ballot encrypted to its session's public key.

Whoever holds only the public key can seal; only the private key (survey/services/sealing.py
keeps it in a file of its own) opens. A box (format 2) is:

    0x02 | ephemeral X25519 public key (32) | nonce (12) | ChaCha20-Poly1305(padded plaintext)

under a key derived (HKDF-SHA256) from the ephemeral-static shared secret, the construction of
libsodium's sealed box with one difference: a sealing process keeps its ephemeral key for up
to SHARE_BOXES boxes within SHARE_SECONDS, each box with a random nonce. Opening costs one
X25519 (about 70 µs) per ephemeral key and a few µs per box, so the close of 100,000 ballots
pays about 1,600 exchanges instead of 100,000 (7 s of CPU). What the sharing shows: which
sealed boxes, while the session is open, came from the same server process within a minute;
never what they hold, and nothing at all once the close has deleted them.

Format 1 (a fresh ephemeral key per box, no format byte, a fixed nonce) is still opened: a
session open across the upgrade holds such boxes. The two are told apart by their length,
which the padding to PAD_TO fixes modulo PAD_TO for each format. This module imports
neither Flask nor SQLAlchemy.
"""

import hmac
import os
import threading
import time

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
NONCE = bytes(NONCE_BYTES)  # format 1: every box has a key of its own, so a fixed nonce is safe
SEAL_INFO = b"survey ballot seal v1"
SEAL_INFO_SHARED = b"survey ballot seal v2"
FORMAT_SHARED = 2  # the first byte of a box whose ephemeral key is shared (format 2)
# Plaintexts are padded to a multiple of this, so a box's length says little about how long
# its comments are.
PAD_TO = 256
# A sealing process keeps its ephemeral key for this many boxes or seconds, whichever ends
# first, then makes a new one.
SHARE_BOXES = 64
SHARE_SECONDS = 60.0
_FORMAT_1_REST = (KEY_BYTES + TAG_BYTES) % PAD_TO  # what a length leaves over 256s, by format
_FORMAT_2_REST = (1 + KEY_BYTES + NONCE_BYTES + TAG_BYTES) % PAD_TO


def _box_key(shared: bytes, ephemeral: bytes, recipient: bytes, info: bytes = SEAL_INFO) -> bytes:
    """HKDF-SHA256 (RFC 5869) of the shared secret, no salt, info = the format's label, the
    ephemeral and the recipient public keys; one 32-byte block.

    Written out with hmac.digest: the same key as cryptography's HKDF object (a test holds
    them equal), at a fraction of its per-call cost.
    """
    pseudo_random = hmac.digest(bytes(32), shared, "sha256")  # extract; no salt = zeros
    return hmac.digest(pseudo_random, info + ephemeral + recipient + b"\x01", "sha256")


def _pad(data: bytes) -> bytes:
    # 0x80 then zeros (ISO/IEC 7816-4): unambiguous to strip.
    data += b"\x80"
    return data + bytes(-len(data) % PAD_TO)


def _unpad(data: bytes) -> bytes:
    end = data.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise ValueError("bad padding")
    return end[:-1]


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


class _Ephemeral:
    """One ephemeral key of this process, the AEAD keyed from it, and how long it may last."""

    def __init__(self, recipient: bytes):
        private = X25519PrivateKey.generate()
        self.public = _raw(private.public_key())
        shared = private.exchange(X25519PublicKey.from_public_bytes(recipient))
        self.cipher = ChaCha20Poly1305(_box_key(shared, self.public, recipient, SEAL_INFO_SHARED))
        self.pid = os.getpid()
        self.until = time.monotonic() + SHARE_SECONDS
        self.left = SHARE_BOXES

    def usable(self) -> bool:
        # A forked child makes its own: two processes never share an ephemeral key.
        return self.left > 0 and time.monotonic() < self.until and self.pid == os.getpid()


_ephemerals: dict[bytes, _Ephemeral] = {}  # by recipient (the session's public key)
_ephemerals_lock = threading.Lock()


def _ephemeral(recipient: bytes) -> _Ephemeral:
    with _ephemerals_lock:
        current = _ephemerals.get(recipient)
        if current is None or not current.usable():
            if len(_ephemerals) > 1000:  # sessions long closed: forget their keys
                _ephemerals.clear()
            current = _ephemerals[recipient] = _Ephemeral(recipient)
        current.left -= 1
        return current


def seal(public_hex: str, plaintext: bytes) -> bytes:
    """Encrypt to the session's public key; only the private key can open the result.

    Format 2: the format byte, an ephemeral public key, a random nonce, then the padded
    plaintext encrypted with ChaCha20-Poly1305 under a key derived from the ephemeral-static
    shared secret. The ephemeral key serves up to SHARE_BOXES boxes sealed by this process
    within SHARE_SECONDS, so the close pays one X25519 per such group instead of one per box
    (docs/anonymity.md says what the grouping shows); a random 96-bit nonce among 64 boxes
    repeats with a probability of about 2^-85.
    """
    recipient = bytes.fromhex(public_hex)
    ephemeral = _ephemeral(recipient)
    nonce = os.urandom(NONCE_BYTES)
    sealed = ephemeral.cipher.encrypt(nonce, _pad(plaintext), None)
    return bytes([FORMAT_SHARED]) + ephemeral.public + nonce + sealed


def seal_alone(public_hex: str, plaintext: bytes) -> bytes:
    """Format 1, as sealed before format 2: a fresh ephemeral key per box, a fixed nonce.

    Still opened (a session open across the upgrade holds such boxes); sealed only by tests.
    """
    recipient = bytes.fromhex(public_hex)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw(ephemeral.public_key())
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    key = _box_key(shared, ephemeral_public, recipient)
    return ephemeral_public + ChaCha20Poly1305(key).encrypt(NONCE, _pad(plaintext), None)


class Opener:
    """Opens the boxes of one session with its private key (kept in memory only)."""

    def __init__(self, private_raw: bytes):
        self._private = X25519PrivateKey.from_private_bytes(private_raw)
        self._public = _raw(self._private.public_key())
        self._ciphers: dict[bytes, ChaCha20Poly1305] = {}  # format 2: by ephemeral public key

    def open(self, box: bytes) -> bytes:
        """Return the plaintext; raise ValueError for a box this key did not seal."""
        try:
            if len(box) % PAD_TO == _FORMAT_2_REST and box[0] == FORMAT_SHARED:
                return _unpad(self._open_shared(box))
            if len(box) % PAD_TO == _FORMAT_1_REST:
                return _unpad(self._open_alone(box))
        except Exception as error:  # InvalidTag, a low-order point…: one meaning, "not ours"
            raise ValueError("box does not open") from error
        raise ValueError("box has no known format")

    def _open_shared(self, box: bytes) -> bytes:
        ephemeral = box[1 : 1 + KEY_BYTES]
        cipher = self._ciphers.get(ephemeral)
        if cipher is None:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
            if len(self._ciphers) > 100_000:  # a session's boxes come in groups of 64
                self._ciphers.clear()
            key = _box_key(shared, ephemeral, self._public, SEAL_INFO_SHARED)
            cipher = self._ciphers[ephemeral] = ChaCha20Poly1305(key)
        nonce = box[1 + KEY_BYTES : 1 + KEY_BYTES + NONCE_BYTES]
        return cipher.decrypt(nonce, box[1 + KEY_BYTES + NONCE_BYTES :], None)

    def _open_alone(self, box: bytes) -> bytes:
        ephemeral, body = box[:KEY_BYTES], box[KEY_BYTES:]
        shared = self._private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
        key = _box_key(shared, ephemeral, self._public)
        return ChaCha20Poly1305(key).decrypt(NONCE, body, None)

    def open_or_none(self, box: bytes) -> bytes | None:
        try:
            return self.open(box)
        except ValueError:
            return None
