"""Fuzz the doors strangers can knock on: ballot submit, code entry, roster import.

Hypothesis generates 10,000 requests in all (see FUZZ_EXAMPLES): random field names, values,
sizes and encodings, valid and invalid codes and tokens, random files. No request may get a
5xx, and a request that is refused (anything but 303) must store nothing: the ballot count and
the codes' statuses (or the roster) stay as they were.
"""

import io
import zipfile
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from survey.extensions import db
from survey.models import Ballot, BallotCode, EvalSession, Role, Subject, SubjectRole
from survey.security import CODE_ALPHABET, display_code
from survey.services.demo import create_demo
from tests.conftest import csrf_token_from, login
from tests.vote.conftest import ballot_form, rating_fields

FUZZ_EXAMPLES = {
    "ballot submit": 4000,
    "code entry (POST /v)": 2000,
    "code in the address (GET /v/…)": 2000,
    "roster import": 1200,  # each builds or damages a workbook: the slowest examples
    "rate limiter": 800,
}
assert sum(FUZZ_EXAMPLES.values()) >= 10_000
FUZZ_RUNS: dict[str, int] = {}  # examples actually run, reported by tests/security/conftest.py

OPTIONS = ["good", "fairly_good", "average", "poor", ""]
# Oversized bodies (413) are tested once in tests/vote; here they would only slow the run.
SIZES = [0, 1, 64, 65, 500, 501, 5000]


def fuzz_settings(name: str):
    return settings(
        max_examples=FUZZ_EXAMPLES[name],
        deadline=None,
        database=None,  # nothing written into the repository
        suppress_health_check=list(HealthCheck),
        # No shrinking: on these inputs it can take many minutes; the failing input is printed.
        phases=[Phase.explicit, Phase.generate],
    )


def counted(name: str) -> None:
    FUZZ_RUNS[name] = FUZZ_RUNS.get(name, 0) + 1


def ran(request, name: str) -> None:
    """Check that every planned example ran, and record the count for the summary."""
    assert FUZZ_RUNS.get(name, 0) >= FUZZ_EXAMPLES[name], (name, FUZZ_RUNS.get(name))
    request.node.user_properties.append(("fuzz_examples", (name, FUZZ_RUNS[name])))


def vote_state(session_id: int) -> tuple:
    db.session.rollback()
    ballots = db.session.scalar(
        sa.select(sa.func.count()).select_from(Ballot).where(Ballot.session_id == session_id)
    )
    statuses = db.session.execute(
        sa.select(BallotCode.status, sa.func.count())
        .where(BallotCode.session_id == session_id)
        .group_by(BallotCode.status)
        .order_by(BallotCode.status)
    ).all()
    return ballots, tuple(statuses)


@pytest.fixture
def hall(app, client):
    """An open session with 100 codes, the real field names of its ballot, no rate limit."""
    app.config["FAILED_CODE_LIMIT_PER_MINUTE"] = app.config["FAILED_CODE_LIMIT_PER_HOUR"] = 10**9
    demo = create_demo(codes_per_group=50)
    db.session.commit()  # what the `survey demo` command's end does
    codes = [code for group in demo.codes.values() for code in group]
    fields, page = ballot_form(client, codes[0])
    names = rating_fields(page)
    session = db.session.get(EvalSession, demo.session_id)
    names += [f"c-{s.id}" for s in session.subjects] + ["c-overall", "confirm_partial"]
    return demo.session_id, codes, names, fields["token"]


def code_strategy(codes: list[str]):
    valid = st.sampled_from(codes)
    return st.one_of(
        valid,
        valid.map(str.lower),
        valid.map(lambda c: " " + display_code(c).replace("-", " - ") + " "),
        st.text(alphabet=CODE_ALPHABET, min_size=10, max_size=10),
        st.text(alphabet=CODE_ALPHABET + "-01IOL ", max_size=30),
        st.text(max_size=80),
        st.just(""),
    )


def field_strategy(names: list[str]):
    name = st.one_of(
        st.sampled_from(names),
        st.from_regex(r"\A[rc]-[0-9]{0,7}(-[a-z_]{0,12})?\Z"),
        st.text(max_size=40),
    )
    value = st.one_of(
        st.sampled_from(OPTIONS),
        st.text(max_size=600),
        st.sampled_from(SIZES).map(lambda n: "很" * n),
    )
    return st.dictionaries(name, value, max_size=12)


ENCODINGS = ["form", "multipart", "gb18030", "latin-1", "raw"]
RAW_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
    "application/json",
    "application/x-www-form-urlencoded; charset=gbk",
]


def send_form(client, url: str, form: dict, encoding: str, raw: bytes, raw_type: str, **kwargs):
    """POST a form the way a phone, an old PC or an attacker might encode it."""
    if encoding == "form":
        return client.post(url, data=form, **kwargs)
    if encoding == "multipart":
        return client.post(url, data=form, content_type="multipart/form-data", **kwargs)
    if encoding in ("gb18030", "latin-1"):
        body = urlencode(form, encoding=encoding, errors="replace").encode("ascii")
        return client.post(url, data=body, content_type=RAW_TYPES[0], **kwargs)
    return client.post(url, data=raw, content_type=raw_type, **kwargs)


def test_fuzz_ballot_submit(app, hall, request):
    session_id, codes, names, token = hall
    client = app.test_client()
    last = [vote_state(session_id)]  # the state after one example is the next one's before

    @fuzz_settings("ballot submit")
    @given(
        code=code_strategy(codes),
        token=st.one_of(st.just(token), st.text(max_size=80), st.just("")),
        fields=field_strategy(names),
        encoding=st.sampled_from(ENCODINGS),
        raw=st.binary(max_size=1000),
        raw_type=st.sampled_from(RAW_TYPES),
        origin=st.sampled_from([None, "null", "http://localhost", "https://evil.example"]),
    )
    def run(code, token, fields, encoding, raw, raw_type, origin):
        counted("ballot submit")
        before = last[0]
        form = {**fields, "code": code, "token": token}
        headers = {"Origin": origin} if origin else {}
        response = send_form(client, "/v/submit", form, encoding, raw, raw_type, headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        after = last[0] = vote_state(session_id)
        if response.status_code == 303:
            assert after[0] - before[0] in (0, 1)
        else:
            assert after == before, f"refused with {response.status_code} but stored"

    run()
    ran(request, "ballot submit")


def test_nameless_multipart_field_is_refused(app, hall):
    session_id, codes, _names, token = hall
    client = app.test_client()
    before = vote_state(session_id)
    form = {"code": codes[0], "token": token, "\r": "good"}
    response = client.post("/v/submit", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert vote_state(session_id) == before


def test_fuzz_code_entry(app, hall, request):
    session_id, codes, _names, _token = hall
    client = app.test_client()
    before = vote_state(session_id)

    @fuzz_settings("code entry (POST /v)")
    @given(
        code=code_strategy(codes),
        extra=st.dictionaries(st.text(max_size=20), st.text(max_size=100), max_size=4),
        encoding=st.sampled_from(ENCODINGS),
        raw=st.binary(max_size=2000),
        raw_type=st.sampled_from(RAW_TYPES),
    )
    def typed(code, extra, encoding, raw, raw_type):
        counted("code entry (POST /v)")
        response = send_form(client, "/v", {**extra, "code": code}, encoding, raw, raw_type)
        assert response.status_code < 500
        assert response.status_code in (200, 400, 403, 404, 409, 410, 413, 415)

    @fuzz_settings("code in the address (GET /v/…)")
    @given(
        segment=st.one_of(
            code_strategy(codes),
            st.text(min_size=1, max_size=300),
            st.binary(min_size=1, max_size=100).map(lambda b: b.decode("latin-1")),
        ),
        raw_path=st.booleans(),
    )
    def scanned(segment, raw_path):
        counted("code in the address (GET /v/…)")
        path = "/v/" + (segment if raw_path else quote(segment, safe=""))
        response = client.get(path)
        assert response.status_code < 500, path

    typed()
    scanned()
    assert vote_state(session_id) == before  # looking a code up never stores anything
    ran(request, "code entry (POST /v)")
    ran(request, "code in the address (GET /v/…)")


HEADER = ["姓名", "职务", "类别", "排序"]
KINDS = ["领导班子", "主要负责人", "班子成员", "成员", "", "班子"]


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    for row in rows:  # Excel cannot hold control characters: openpyxl refuses to write them
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def roster_rows():
    cell = st.one_of(st.text(max_size=30), st.sampled_from(KINDS), st.integers(-5, 400).map(str))
    row = st.lists(cell, min_size=0, max_size=6)
    header = st.one_of(st.just(HEADER), st.permutations(HEADER), st.lists(st.text(max_size=8)))
    return st.tuples(header, st.lists(row, max_size=12)).map(lambda t: [t[0], *t[1]])


def csv_bytes(rows: list[list[str]], encoding: str, separator: str) -> bytes:
    text = "\r\n".join(separator.join(cells) for cells in rows)
    return text.encode(encoding, errors="replace")


def mutate(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buffer = bytearray(data)
    for position, value in flips:
        if buffer:
            buffer[position % len(buffer)] = value
    return bytes(buffer)


def test_fuzz_roster_import(app, client, make_user, request):
    organizer = make_user(role=Role.ORGANIZER)
    session = EvalSession(title="名单导入", owner=organizer, rule_set_key="x", rule_set_version="1")
    session.subjects = [Subject(name="原有班子", kind=SubjectRole.TEAM, position=0)]
    db.session.add(session)
    db.session.commit()
    session_id = session.id
    assert login(client, organizer.username).status_code == 302
    url = f"/sessions/{session_id}/subjects"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    # Real workbooks to start from; random byte flips make them broken in realistic ways.
    good_books = [
        xlsx_bytes([HEADER, ["县委班子", "", "领导班子", "1"], ["张三", "书记", "主要负责人"]]),
        xlsx_bytes([HEADER] + [[f"成员{n}", "职务", "班子成员", str(n)] for n in range(30)]),
    ]

    def subjects() -> list[tuple]:
        db.session.rollback()
        return db.session.execute(
            sa.select(Subject.name, Subject.post, Subject.kind, Subject.position)
            .where(Subject.session_id == session_id)
            .order_by(Subject.position)
        ).all()

    content = st.one_of(
        st.binary(max_size=3000),
        st.tuples(
            roster_rows(),
            st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1"]),
            st.sampled_from([",", "\t", ";"]),
        ).map(lambda t: csv_bytes(*t)),
        roster_rows().map(xlsx_bytes),
        st.tuples(
            st.sampled_from(good_books),
            st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
        ).map(lambda t: mutate(*t)),
        st.binary(max_size=500).map(lambda b: b"PK\x03\x04" + b),
    )

    @fuzz_settings("roster import")
    @given(
        data=content,
        filename=st.one_of(
            st.sampled_from(["名单.xlsx", "名单.csv", "名单.xls", "名单.txt", "", "a.XLSX"]),
            st.text(max_size=40),
        ),
        replace=st.sampled_from(["", "y", "on", "junk"]),
        with_token=st.booleans(),
    )
    def run(data, filename, replace, with_token):
        counted("roster import")
        before = subjects()
        form = {"file": (io.BytesIO(data), filename), "replace": replace}
        if with_token:
            form["csrf_token"] = token
        response = client.post(
            f"/sessions/{session_id}/subjects/import",
            data=form,
            content_type="multipart/form-data",
        )
        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        assert response.status_code in (302, 400, 413), response.status_code
        if response.status_code != 302:
            assert subjects() == before, "a refused roster changed the subjects"

    run()
    ran(request, "roster import")


def corrupt_workbook() -> bytes:
    """A real roster workbook with one byte of its compressed sheet changed."""
    data = bytearray(xlsx_bytes([HEADER, ["县委班子", "", "领导班子", "1"]]))
    start = data.index(b"xl/worksheets/sheet1.xml") + len(b"xl/worksheets/sheet1.xml")
    data[start + 5] ^= 0xFF
    return bytes(data)


def test_corrupt_xlsx_is_refused(client, logged_in):
    organizer = logged_in(Role.ORGANIZER)
    session = EvalSession(title="坏文件", owner=organizer, rule_set_key="x", rule_set_version="1")
    db.session.add(session)
    db.session.commit()
    url = f"/sessions/{session.id}/subjects"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    form = {"file": (io.BytesIO(corrupt_workbook()), "名单.xlsx"), "csrf_token": token}
    response = client.post(f"{url}/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 400


def test_roster_zip_bomb_is_refused(client, logged_in):
    """An XLSX whose sheet inflates to 50 MB of zeros: a 4xx, quickly, nothing imported."""
    organizer = logged_in(Role.ORGANIZER)
    session = EvalSession(title="炸弹", owner=organizer, rule_set_key="x", rule_set_version="1")
    db.session.add(session)
    db.session.commit()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 50_000_000)
    url = f"/sessions/{session.id}/subjects"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    form = {"file": (io.BytesIO(out.getvalue()), "名单.xlsx"), "csrf_token": token}
    response = client.post(f"{url}/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    db.session.rollback()
    assert db.session.get(EvalSession, session.id).subjects == []


def test_fuzz_rate_limiter_addresses(app, hall, request):
    """Any client address or forwarding header: 429 at worst, never a 5xx."""
    _session_id, codes, _names, _token = hall
    app.config.pop("FAILED_CODE_LIMIT_PER_MINUTE")
    app.config.pop("FAILED_CODE_LIMIT_PER_HOUR")
    client = app.test_client()
    header_text = st.one_of(
        st.ip_addresses().map(str),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    )
    address = st.one_of(
        st.ip_addresses().map(str),
        st.text(max_size=60),
        st.sampled_from(["", "unix:", "::1", "fe80::1%eth0", "::ffff:10.0.0.1"]),
    )

    @fuzz_settings("rate limiter")
    @given(
        remote=address,
        forwarded=st.one_of(st.none(), st.lists(header_text, max_size=4).map(", ".join)),
        proxies=st.sampled_from([0, 1, 2, "x", -1]),
        code=code_strategy(codes),
    )
    def run(remote, forwarded, proxies, code):
        counted("rate limiter")
        app.config["TRUSTED_PROXIES"] = proxies
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        response = client.post(
            "/v", data={"code": code}, headers=headers, environ_base={"REMOTE_ADDR": remote}
        )
        assert response.status_code in (200, 400, 403, 404, 409, 410, 429)

    run()
    ran(request, "rate limiter")
