"""Every text response goes out gzipped when the client takes it: pages, CSS and JS alike."""

import gzip

from survey import PROJECT_ROOT

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def test_static_css_and_js_are_gzipped_and_unchanged(client):
    for name in ("vote.css", "ballot.js", "app.css", "screen.js"):
        response = client.get(f"/static/{name}", headers=GZIP)
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["Vary"]
        body = response.get_data()
        assert int(response.headers["Content-Length"]) == len(body)
        original = (PROJECT_ROOT / "survey" / "static" / name).read_bytes()
        assert gzip.decompress(body) == original
        assert len(body) < len(original)
        # The second time comes from the worker's memory: the same bytes.
        again = client.get(f"/static/{name}", headers=GZIP)
        assert again.get_data() == body


def test_a_gzipped_static_file_still_revalidates_to_304(client):
    first = client.get("/static/vote.css", headers=GZIP)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = client.get("/static/vote.css", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_no_gzip_unless_asked(client, open_session):
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0"}):
        for path in ("/static/vote.css", f"/v/{open_session.codes[0]}", "/v"):
            response = client.get(path, headers=headers)
            assert response.status_code == 200
            assert "Content-Encoding" not in response.headers
            assert b"<" in response.get_data() or b"{" in response.get_data()


def test_pages_and_error_pages_are_gzipped(client, open_session):
    for path, status in (
        (f"/v/{open_session.codes[0]}", 200),
        ("/v", 200),
        ("/v/ABCDE-FGHJK", 404),
        ("/no-such-page", 404),
        ("/login", 200),
    ):
        response = client.get(path, headers=GZIP)
        assert response.status_code == status, path
        assert response.headers["Content-Encoding"] == "gzip", path
        assert "</html>" in gzip.decompress(response.get_data()).decode(), path


def test_head_of_a_static_file_is_not_mangled(client):
    response = client.head("/static/vote.css", headers=GZIP)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers


def test_ballot_page_needs_at_most_three_requests_and_5_kb(client, open_session):
    """The page, its CSS and its JS; no favicon request; headers counted with the bodies."""
    page = client.get(f"/v/{open_session.codes[0]}", headers=GZIP)
    html = gzip.decompress(page.get_data()).decode()
    assert '<link rel="icon" href="data:,">' in html  # so no browser asks for /favicon.ico
    fetched = [page]
    for path in ("/static/vote.css", "/static/ballot.js"):
        assert path in html
        fetched.append(client.get(path, headers=GZIP))
    assert html.count("src=") + html.count('rel="stylesheet"') == 2
    # What goes over the wire: status line, headers (plus the Date/Server/Connection a server
    # adds, about 100 bytes) and the gzipped body.
    wire = sum(
        len(f"HTTP/1.1 {r.status}\r\n")
        + sum(len(f"{k}: {v}\r\n") for k, v in r.headers.items())
        + 2
        + 100
        + len(r.get_data())
        for r in fetched
    )
    assert all(r.status_code == 200 for r in fetched)
    assert wire <= 5 * 1024, wire


def test_a_spliced_page_is_one_valid_gzip_stream_whatever_goes_in_the_holes():
    import zlib

    from survey.web.compression import SplicedPage

    page = SplicedPage(["<p>前文" * 300, "</p><i>", "</i>" + "后文。" * 500])
    for values in (["", ""], ["ABCDE-FGHJK", "tok_-123"], ["测评" * 100, "x" * 40_000]):
        body = page.gzipped(values)
        assert gzip.decompress(body).decode() == page.text(values)
        # A streaming inflater (as browsers use) reads it to the end, with nothing left over.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        assert inflater.decompress(body) + inflater.flush() == page.text(values).encode()
        assert inflater.eof and inflater.unused_data == b""
    assert len(page.gzipped(["ABCDE-FGHJK", "t" * 32])) < len(page.text(["", ""])) // 5


def test_the_ballot_page_is_the_same_gzipped_or_not(client, open_session):
    plain = client.get(f"/v/{open_session.codes[0]}").get_data(as_text=True)
    zipped = client.get(f"/v/{open_session.codes[0]}", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    text = gzip.decompress(zipped.get_data()).decode()
    # Only the fresh form token differs between two openings of the same code.
    token = 'name="token" value="'
    assert text.split(token)[0] == plain.split(token)[0]
    assert text.split(token)[1].split('"', 1)[1] == plain.split(token)[1].split('"', 1)[1]
    from survey.security import canonical_code, display_code

    shown = display_code(canonical_code(open_session.codes[0]))
    assert f'name="code" value="{shown}"' in text
