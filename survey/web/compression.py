"""Gzip every text response, pages and static files alike, for phones on crowded hall Wi-Fi.

The one compression path of the app (a proxy in front may compress too; it then sees the
Content-Encoding and leaves the body alone). gunicorn serves the static files through Flask's
send_file, which streams them as they are; here they are read (they are a few KB), gzipped once
per worker and process, and served from memory after that.
"""

import gzip
import struct
import threading
import zlib

from flask import Flask, request

COMPRESSIBLE = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
)
# Below this a gzip header and trailer (18 bytes) outweigh what compression saves.
MIN_BYTES = 150
LEVEL = 6
# Static files by (path, ETag): gzipped once per worker.
_static: dict[tuple[str, str], bytes] = {}
_lock = threading.Lock()
MAX_STATIC = 256


def init_compression(app: Flask) -> None:
    app.after_request(compress)


def accepts_gzip(accept_encoding: str | None = None) -> bool:
    """Whether the request's Accept-Encoding (or the one given) takes gzip."""
    if accept_encoding is None:
        accept_encoding = request.headers.get("Accept-Encoding", "")
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def compress(response):
    """Gzip the body when the client takes it and it is text worth compressing."""
    if (
        response.status_code < 200
        or response.status_code in (204, 206, 304)
        or "Content-Encoding" in response.headers
        or not (response.mimetype or "").startswith(COMPRESSIBLE)
    ):
        return response
    response.vary.add("Accept-Encoding")
    if request.method == "HEAD" or not accepts_gzip():
        return response
    if response.is_streamed and not response.direct_passthrough:
        return response  # a generator (an export being written): leave it streaming
    etag, _weak = response.get_etag()
    static = response.direct_passthrough and etag is not None
    body = _static.get((request.path, etag)) if static else None
    if body is None:
        response.direct_passthrough = False
        data = response.get_data()
        if len(data) < MIN_BYTES:
            return response
        body = gzip.compress(data, compresslevel=LEVEL, mtime=0)
        if len(body) >= len(data):
            return response
        if static:
            with _lock:
                if len(_static) >= MAX_STATIC:
                    _static.clear()
                _static[(request.path, etag)] = body
    else:
        response.direct_passthrough = False
        response.close()  # the file send_file opened: its bytes come from memory instead
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    if static:
        # A phone on hall Wi-Fi pays for every header byte (the ballot page must fit 5 KB):
        # the ETag revalidates on its own, ranges of a gzipped body make no sense, and a
        # stylesheet or script needs no file name.
        for name in ("Last-Modified", "Accept-Ranges", "Content-Disposition"):
            response.headers.pop(name, None)
    if etag is not None:
        # Same validator, weak: another encoding of the same file still revalidates to a 304.
        response.set_etag(etag, weak=True)
    return response


class SplicedPage:
    """A page rendered once with holes, gzipped once, and filled per request almost for free.

    The parts between the holes are deflated once, each ending on a full flush (byte-aligned,
    no back-reference across it), so the holes' values can go in between as a stored deflate
    block: one gzip stream, valid for any inflater, that costs a CRC and a join per request
    instead of deflating the whole page (about 0.5 ms for a 12-subject ballot here).
    """

    def __init__(self, parts: list[str]):
        self.parts = [part.encode() for part in parts]
        self.deflated = []
        for n, part in enumerate(self.parts):
            deflater = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
            last = n == len(self.parts) - 1
            flush = zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH
            self.deflated.append(deflater.compress(part) + deflater.flush(flush))
        self.first_crc = zlib.crc32(self.parts[0])

    def text(self, values: list[str]) -> str:
        """The page filled in, uncompressed."""
        texts = [part.decode() for part in self.parts]
        # str(): the values come escaped as Markup, which would escape the parts it is added to.
        return "".join(part + str(value) for part, value in zip(texts, [*values, ""], strict=True))

    def gzipped(self, values: list[str]) -> bytes:
        """The page filled in, as one gzip stream."""
        chunks = [GZIP_HEADER, self.deflated[0]]
        crc, size = self.first_crc, len(self.parts[0])
        for value, part, deflated in zip(values, self.parts[1:], self.deflated[1:], strict=True):
            raw = str(value).encode()
            if len(raw) > 0xFFFF:
                raise ValueError("a hole's value must fit one stored block")
            # A stored block, not final: header bits 000 then (already aligned) LEN and NLEN.
            chunks += [b"\x00", struct.pack("<HH", len(raw), len(raw) ^ 0xFFFF), raw, deflated]
            crc = zlib.crc32(part, zlib.crc32(raw, crc))
            size += len(raw) + len(part)
        chunks.append(struct.pack("<II", crc, size & 0xFFFFFFFF))
        return b"".join(chunks)

    def response(self, values: list[str], status: int = 200):
        """A Flask response: gzipped when the client takes it (compress() then leaves it)."""
        headers = {"Content-Type": "text/html; charset=utf-8", "Vary": "Accept-Encoding"}
        if accepts_gzip():
            return self.gzipped(values), status, {**headers, "Content-Encoding": "gzip"}
        return self.text(values), status, headers


# gzip member header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
