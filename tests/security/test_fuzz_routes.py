"""Every route, every role, every hostile input class: no 5xx, ever.

The routes are read from app.url_map, so a route added later is fuzzed without new code. Each
is requested anonymously and logged in as administrator, organizer and assessor, with:
- path parameters replaced by hostile values (ids past 2**63 and 2**64, Unicode digits such
  as "²", a 5,000-digit number, NUL and other control characters, CRLF, deep brackets),
  the other parameters real ids of real rows;
- query strings carrying the same classes on common names (next, name, id, show, …),
  and duplicated keys;
- form fields (every field name any page of the app renders, plus common ones) carrying the
  same classes, duplicated fields, deeply nested JSON bodies and multipart files holding
  deeply nested JSON and TOML, with a valid CSRF token so the validators are reached.
The request count and the status histogram are printed at the end of the run.
"""

import io
import re
from collections import Counter
from urllib.parse import quote, urlencode

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    EvalSession,
    Inquiry,
    PaperEntry,
    RaterGroup,
    RectificationItem,
    Role,
    Season,
    SeasonUnit,
    Subject,
    User,
)
from survey.services.demo import create_demo
from survey.services.seasons import add_unit, checklist_choices, create_season
from tests.conftest import csrf_token_from

DEEP = "[" * 5000 + "]" * 5000
# Path parameters: ids past 2**63 and 2**64, a 5,000-digit number, Unicode digits, zero and
# negative; text with NUL and other controls, CRLF, deep brackets, a long run of CJK.
PATH_VALUES = [
    str(2**63),
    str(2**64 + 1),
    "9" * 5000,
    "²",
    "١٢",
    "0",
    "-1",
    "\x00",
    "a\x01\x1b\x7f",
    "a\r\nSet-Cookie: stolen=1",
    DEEP,
    "很" * 1000,
]
# Query and form values: the same classes, fewer of each.
VALUES = [
    str(2**64 + 1),
    "9" * 5000,
    "²",
    "\x00",
    "\x00\x01\x07\x1b\x7f",
    "//evil.example/\r\nSet-Cookie: stolen=1",
    DEEP,
    " \t ",
]
QUERY_NAMES = ["next", "name", "id", "show", "page", "session_id", "subject", "kind", "q"]
FORM_NAMES = [
    "name",
    "title",
    "username",
    "password",
    "code",
    "subject",
    "session_id",
    "count",
    "expected_count",
    "year",
    "population",
    "text",
    "answer",
    "kind",
    "direction",
    "group",
    "group_id",
    "mode",
    "show",
    "issue",
    "due_on",
    "report",
    "replace",
    "token",
    "holidays",
]
MODELS = {
    "session_id": EvalSession,
    "subject_id": Subject,
    "group_id": RaterGroup,
    "season_id": Season,
    "unit_id": SeasonUnit,
    "entry_id": PaperEntry,
    "user_id": User,
    "item_id": RectificationItem,
    "inquiry_id": Inquiry,
}
PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>[a-z_]+)>")
RESULTS: dict[str, object] = {}


def real_value(name: str, rule) -> str:
    converter = rule._converters.get(name)
    items = getattr(converter, "items", None)
    if items:
        return sorted(items)[0]
    if name == "kind":
        return "xlsx"
    model = MODELS.get(name)
    if model is not None:
        found = db.session.scalar(sa.select(model.id).order_by(model.id).limit(1))
        if found is not None:
            return str(found)
    return "1"


def build(rule, values: dict[str, str]) -> str:
    def fill(match):
        return quote(values[match.group("name")], safe="")

    return PARAM.sub(fill, rule.rule)


def requests_for(rule, field_names: list[str], token: str):
    """Yield (method, url, kwargs) for one route: hostile path, query and form inputs."""
    names = sorted(rule.arguments)
    real = {name: real_value(name, rule) for name in names}
    methods = sorted(rule.methods & {"GET", "POST"})
    base = build(rule, real)
    for name in names:
        for value in PATH_VALUES:
            url = build(rule, {**real, name: value})
            for method in methods:
                data = {"csrf_token": token} if method == "POST" else None
                yield method, url, {"data": data}
    if "GET" in methods:
        for value in VALUES:
            query = urlencode({key: value for key in QUERY_NAMES})
            yield "GET", f"{base}?{query}", {}
        duplicated = "next=/a&next=//evil&id=1&id=2&id=%C2%B2&name=a&name=%00"
        yield "GET", f"{base}?{duplicated}", {}
    if "POST" in methods:
        for value in VALUES:
            form = {key: value for key in field_names}
            form["csrf_token"] = token
            yield "POST", base, {"data": form}
        duplicated = [(key, value) for key in field_names for value in ("1", "²", "\x00")]
        body = urlencode([*duplicated, ("csrf_token", token), ("csrf_token", "x")])
        yield "POST", base, {"data": body, "content_type": "application/x-www-form-urlencoded"}
        yield "POST", base, {"data": DEEP, "content_type": "application/json"}
        files = {
            "csrf_token": token,
            "file": (io.BytesIO(f"x = {DEEP}\n".encode()), "deep.toml"),
            "archive": (io.BytesIO(("{" + '"a":' * 5000 + "1" + "}" * 5000).encode()), "a.json"),
        }
        yield "POST", base, {"data": files, "content_type": "multipart/form-data"}


@pytest.fixture
def world(app, make_user):
    """An open demo session with codes, a season with a unit, and one user of each role."""
    for key in ("FAILED_CODE_LIMIT_PER_MINUTE", "FAILED_CODE_LIMIT_PER_HOUR"):
        app.config[key] = 10**9
    for key in ("PER_MINUTE", "PER_HOUR"):
        app.config[f"LOGIN_ACCOUNT_{key}"] = app.config[f"LOGIN_NETWORK_{key}"] = 10**9
    demo = create_demo(codes_per_group=5)
    db.session.commit()  # what the `survey demo` command's end does
    organizer = db.session.scalar(sa.select(User).where(User.username == demo.username))
    season = create_season(organizer, "考核年度", 2026, checklist_choices()[0][0])
    add_unit(season, "某县", "100000", organizer)
    users = {
        "admin": make_user(role=Role.ADMIN),
        "assessor": make_user(role=Role.ASSESSOR),
    }
    return {
        "organizer": (demo.username, demo.password),
        **{role: (user.username, None) for role, user in users.items()},
    }


def test_every_route_answers_hostile_input_without_5xx(app, world, request):
    from tests.conftest import TEST_PASSWORD

    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    identities = {"anonymous": None, **world}
    statuses: Counter = Counter()
    failures: list[str] = []
    field_names: set[str] = set(FORM_NAMES)
    sent = 0

    def log_in(client, who) -> str:
        """Log in; return the CSRF token of the login form, which stays valid afterwards."""
        username, password = identities[who]
        client.post("/logout")  # whatever cookie is left; ignored when it is not logged in
        page = client.get("/login").get_data(as_text=True)
        token = csrf_token_from(page)
        form = {"username": username, "password": password or TEST_PASSWORD, "csrf_token": token}
        assert client.post("/login", data=form).status_code == 302, who
        return token

    for who in identities:
        client = app.test_client()
        token = log_in(client, who) if identities[who] else ""
        # The pages this identity can see name the form fields worth filling.
        for rule in rules:
            if "GET" in rule.methods and not rule.arguments:
                page = client.get(rule.rule).get_data(as_text=True)
                field_names.update(re.findall(r'name="([A-Za-z_][\w-]{0,40})"', page))
                if not token and 'name="csrf_token"' in page:
                    token = csrf_token_from(page)
        names = sorted(field_names - {"csrf_token"})
        for rule in rules:
            for method, url, kwargs in requests_for(rule, names, token):
                sent += 1
                response = None
                try:
                    response = client.open(url, method=method, **kwargs)
                    status = response.status_code
                except Exception as error:  # noqa: BLE001 (an exception is a 500 in production)
                    status = 500
                    failures.append(f"{who} {method} {url[:120]} raised {error!r}"[:400])
                statuses[status] += 1
                if status >= 500 and len(failures) < 50:
                    failures.append(f"{who} {method} {url[:120]} → {status}")
                if (
                    identities[who]
                    and status == 302
                    and "/login" in response.headers.get("Location", "")
                ):
                    token = log_in(client, who)  # a logout (ending every session) was fuzzed

    histogram = dict(sorted(statuses.items()))
    RESULTS.update(requests=sent, histogram=histogram, routes=len(rules))
    request.node.user_properties.append(("route_fuzz", (sent, len(rules), histogram)))
    assert sent > 5000
    assert not failures, "\n".join(failures[:50])
    assert not [status for status in statuses if status >= 500]


def test_every_id_in_a_route_uses_the_strict_converter(app):
    """A route written with <int:…> would answer 500 for ids past 2**63: none is left."""
    from survey.inputs import IdConverter

    loose = [
        rule.rule
        for rule in app.url_map.iter_rules()
        for converter in rule._converters.values()
        if type(converter).__name__ in ("IntegerConverter", "NumberConverter", "FloatConverter")
        and not isinstance(converter, IdConverter)
    ]
    assert loose == []
