"""Sealed boxes: a ballot encrypted to its session's public key, and opening many at once.

A box is a fresh ephemeral X25519 public key followed by the ChaCha20-Poly1305 encryption of
the padded plaintext, under a key derived (HKDF-SHA256) from the ephemeral-static shared
secret, as in libsodium's sealed box. Whoever holds only the public key can seal; only the
private key (survey/services/sealing.py keeps it in a file of its own) opens.

Opening costs one X25519 per box, about 60 µs of CPU here, which the close pays for every
ballot: 6 s for 100,000. `cryptography` holds the GIL while it computes, so threads do not
help; `open_all` hands large batches to helper processes instead, one per core. Each is a
fresh interpreter (`python -m survey.boxes`) that imports this module and `cryptography`
only, gets the key over its stdin pipe, and answers chunks of boxes with their plaintexts.
Nothing is forked: a fork of the web worker would copy its other threads, its database
connections and whatever else it held. This module imports neither Flask nor SQLAlchemy.
"""

import contextlib
import hmac
import os
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_BYTES = 32
NONCE = bytes(12)  # every box has a key of its own (fresh ephemeral key), so a fixed nonce is safe
SEAL_INFO = b"survey ballot seal v1"
# Plaintexts are padded to a multiple of this, so a box's length says little about how long
# its comments are.
PAD_TO = 256
CHUNK = 2000  # boxes per message to a helper process
_LENGTH = 4  # bytes of every length prefix on the pipes
_NOT_OPENED = 0xFFFFFFFF  # the length standing for "this box did not open"


def _box_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) of the shared secret, no salt, one 32-byte block.

    Written out with hmac.digest: the same key as cryptography's HKDF object (a test holds
    them equal), at a fraction of its per-call cost, which the close pays 100,000 times.
    """
    pseudo_random = hmac.digest(bytes(32), shared, "sha256")  # extract; no salt = zeros
    return hmac.digest(pseudo_random, SEAL_INFO + ephemeral + recipient + b"\x01", "sha256")


def _pad(data: bytes) -> bytes:
    # 0x80 then zeros (ISO/IEC 7816-4): unambiguous to strip.
    data += b"\x80"
    return data + bytes(-len(data) % PAD_TO)


def _unpad(data: bytes) -> bytes:
    end = data.rstrip(b"\x00")
    if not end.endswith(b"\x80"):
        raise ValueError("bad padding")
    return end[:-1]


def seal(public_hex: str, plaintext: bytes) -> bytes:
    """Encrypt to the session's public key; only the private key can open the result."""
    recipient = bytes.fromhex(public_hex)
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    key = _box_key(shared, ephemeral_public, recipient)
    return ephemeral_public + ChaCha20Poly1305(key).encrypt(NONCE, _pad(plaintext), None)


class Opener:
    """Opens the boxes of one session with its private key (kept in memory only)."""

    def __init__(self, private_raw: bytes):
        self._private = X25519PrivateKey.from_private_bytes(private_raw)
        self._public = self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def open(self, box: bytes) -> bytes:
        """Return the plaintext; raise ValueError for a box this key did not seal."""
        if len(box) < KEY_BYTES + 16:
            raise ValueError("box too short")
        ephemeral_public, body = box[:KEY_BYTES], box[KEY_BYTES:]
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
            key = _box_key(shared, ephemeral_public, self._public)
            return _unpad(ChaCha20Poly1305(key).decrypt(NONCE, body, None))
        except Exception as error:  # InvalidTag, a low-order point…: one meaning, "not ours"
            raise ValueError("box does not open") from error

    def open_or_none(self, box: bytes) -> bytes | None:
        try:
            return self.open(box)
        except ValueError:
            return None


# ---- many boxes ---------------------------------------------------------------------------


def open_all(
    private_raw: bytes, boxes: Iterable[bytes], workers: int = 1
) -> Iterator[bytes | None]:
    """Each box's plaintext, or None for a box this key did not seal, in the order given.

    With workers > 1 the boxes are opened by that many helper processes, CHUNK at a time, while
    this process reads the next boxes and uses the plaintexts already back: memory holds a
    chunk per helper, never the whole batch. A helper that cannot start or ends early raises
    HelperFailed.
    """
    if workers <= 1:
        opener = Opener(private_raw)
        for box in boxes:
            yield opener.open_or_none(box)
        return
    boxes = iter(boxes)
    chunks = iter(lambda: list(islice(boxes, CHUNK)), [])
    helpers: list[_Helper] = []
    try:
        for _ in range(workers):
            helpers.append(_Helper(private_raw))
        waiting: deque[_Helper] = deque()
        for helper in helpers:
            chunk = next(chunks, None)
            if chunk is None:
                break
            helper.send(chunk)
            waiting.append(helper)
        while waiting:
            helper = waiting.popleft()
            opened = helper.receive()
            chunk = next(chunks, None)
            if chunk is not None:  # keep the helper busy while this chunk is used
                helper.send(chunk)
                waiting.append(helper)
            yield from opened
    finally:
        for helper in helpers:
            helper.stop()


class HelperFailed(RuntimeError):
    """A box-opening helper process could not start, or ended before answering."""


class _Helper:
    """One helper process and its two pipes; one chunk in flight at a time, so neither side
    ever waits on a full pipe the other is not reading."""

    def __init__(self, private_raw: bytes):
        package_parent = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "survey.boxes"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": path},
            )
        except OSError as error:  # no interpreter to start (sys.executable empty or gone)
            raise HelperFailed(f"box-opening helper process did not start: {error}") from error
        self.send([private_raw])

    def send(self, items: list[bytes]) -> None:
        try:
            _write(self.process.stdin, items)
        except OSError as error:  # a broken pipe: the helper has ended
            raise HelperFailed(self._ended()) from error

    def receive(self) -> list[bytes | None]:
        items = _read(self.process.stdout)
        if items is None:
            raise HelperFailed(self._ended())
        return items

    def _ended(self) -> str:
        return f"box-opening helper process ended early (exit status {self.process.poll()})"

    def stop(self) -> None:
        """End the helper: it exits at the end of its input, or on the answer nobody reads."""
        for stream in (self.process.stdout, self.process.stdin):
            with contextlib.suppress(OSError):  # a broken pipe: the helper is gone already
                stream.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _write(stream: BinaryIO, items: list[bytes | None]) -> None:
    """One message: its length, then each item as its length and bytes (None: no bytes)."""
    parts = []
    for item in items:
        if item is None:
            parts.append(_NOT_OPENED.to_bytes(_LENGTH, "big"))
        else:
            parts += (len(item).to_bytes(_LENGTH, "big"), item)
    body = b"".join(parts)
    stream.write(len(body).to_bytes(_LENGTH, "big") + body)
    stream.flush()


def _read(stream: BinaryIO) -> list[bytes | None] | None:
    """The next message's items; None at the end of the stream."""
    head = stream.read(_LENGTH)
    if len(head) < _LENGTH:
        return None
    size = int.from_bytes(head, "big")
    body = stream.read(size)
    if len(body) < size:
        return None
    items, at = [], 0
    while at < len(body):
        size = int.from_bytes(body[at : at + _LENGTH], "big")
        at += _LENGTH
        if size == _NOT_OPENED:
            items.append(None)
        else:
            items.append(body[at : at + size])
            at += size
    return items


def _serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """A helper's life: the key, then chunks of boxes answered with plaintexts, until EOF."""
    first = _read(requests)
    if not first:
        return
    opener = Opener(first[0])
    while (boxes := _read(requests)) is not None:
        _write(answers, [opener.open_or_none(box) for box in boxes])


if __name__ == "__main__":
    try:
        _serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:  # the close stopped reading (it failed, or was cut short)
        os._exit(1)
