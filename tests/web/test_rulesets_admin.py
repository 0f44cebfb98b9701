"""Admins upload a unit's own rule set versions; stored versions never change."""

import hashlib
from io import BytesIO

import pytest
import sqlalchemy as sa

from survey.domain import get_shipped
from survey.domain.rulesets import RULES_DIR
from survey.extensions import db
from survey.models import AuditEntry, EvalSession, Role, RuleSetRecord
from survey.services import NotFound, ServiceError
from survey.services.rulesets import (
    MAX_RULESET_BYTES,
    available_rulesets,
    ruleset_for,
    upload_ruleset,
)
from tests.conftest import csrf_token_from

LANGFANG = (RULES_DIR / "langfang-2014.toml").read_text(encoding="utf-8")
BAND_85 = '{ low = "85%", high = "90%",  value = "15" }'


def unit_file(ruleset_id: str = "sanhe-2025", version: str = "1", band_85: str = "16") -> bytes:
    """Return langfang-2014 rewritten as a unit's own rule set, with one band changed."""
    assert BAND_85 in LANGFANG
    text = (
        LANGFANG.replace('id = "langfang-2014"', f'id = "{ruleset_id}"')
        .replace('version = "1"', f'version = "{version}"')
        .replace(BAND_85, f'{{ low = "85%", high = "90%",  value = "{band_85}" }}')
    )
    return text.encode("utf-8")


def post_upload(client, data: bytes, filename: str = "sanhe.toml", csrf: str | bool = True):
    """Post a file to the upload form, with the page's CSRF token unless given one or False."""
    form: dict = {"file": (BytesIO(data), filename)}
    if csrf is True:
        csrf = csrf_token_from(client.get("/admin/rulesets").get_data(as_text=True))
    if csrf:
        form["csrf_token"] = csrf
    response = client.post("/admin/rulesets", data=form, content_type="multipart/form-data")
    # End the test's own read transaction, whose SQLite snapshot predates the upload.
    db.session.rollback()
    return response


def stored_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(RuleSetRecord.id)))


def test_admin_uploads_a_unit_rule_set(client, logged_in):
    admin = logged_in(Role.ADMIN)
    data = unit_file()

    response = post_upload(client, data)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/rulesets/sanhe-2025/1")
    ruleset = ruleset_for("sanhe-2025", "1")
    assert ruleset.sha256 == hashlib.sha256(data).hexdigest()
    assert ruleset.content == data
    assert (
        ruleset.team_points.describe() != get_shipped("langfang-2014", "1").team_points.describe()
    )
    assert ("sanhe-2025", "1") in [(r.id, r.version) for r in available_rulesets()]

    row = db.session.scalar(sa.select(RuleSetRecord))
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.content.encode("utf-8") == data
    assert row.uploaded_by_id == admin.id
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "upload_ruleset"))
    assert entry.user_id == admin.id
    assert "sanhe-2025" in entry.detail

    listing = client.get("/admin/rulesets").get_data(as_text=True)
    assert "sanhe-2025" in listing
    assert "langfang-2014" in listing
    assert "上传" in listing and "内置" in listing
    assert admin.display_name in listing

    page = client.get("/admin/rulesets/sanhe-2025/1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ruleset.sha256 in html
    assert "<pre>" in html
    assert "[85%, 90%) → 16" in html  # describe() of the changed band
    assert "value = &#34;16&#34;" in html  # the raw file

    download = client.get("/admin/rulesets/sanhe-2025/1/file")
    assert download.status_code == 200
    assert download.data == data
    assert "attachment" in download.headers["Content-Disposition"]
    assert "sanhe-2025-1.toml" in download.headers["Content-Disposition"]


def test_shipped_rule_set_page_shows_its_file(client, logged_in):
    logged_in(Role.ADMIN)
    shipped = get_shipped("langfang-2014", "1")
    page = client.get("/admin/rulesets/langfang-2014/1").get_data(as_text=True)
    assert shipped.sha256 in page
    assert "内置" in page
    assert client.get("/admin/rulesets/langfang-2014/1/file").data == shipped.content


def test_unknown_rule_set_is_404(client, logged_in):
    logged_in(Role.ADMIN)
    response = client.get("/admin/rulesets/nope/1")
    assert response.status_code == 404
    assert "找不到规则集 nope 版本 1" in response.get_data(as_text=True)
    with pytest.raises(NotFound):
        ruleset_for("nope", "1")


def test_malformed_file_is_refused_naming_the_row(client, logged_in):
    logged_in(Role.ADMIN)
    data = unit_file().replace(b'low = "85%", high = "90%"', b'low = "86%", high = "90%"')

    response = post_upload(client, data, filename="sanhe-bad.toml")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "sanhe-bad.toml 领导班子民主测评得分分档 [team_points] 第5行" in html
    assert "中间有空档" in html
    assert 'type="file"' in html  # the form is shown again
    assert stored_count() == 0


@pytest.mark.parametrize(
    ("ruleset_id", "version"), [("langfang-2014", "1"), ("integrity-risk-grades", "1")]
)
def test_shipped_id_and_version_cannot_be_uploaded(client, logged_in, ruleset_id, version):
    logged_in(Role.ADMIN)
    before = get_shipped(ruleset_id, version).sha256

    response = post_upload(client, unit_file(ruleset_id, version))

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f"规则集 {ruleset_id} 版本 {version} 已存在" in html
    assert "提高 version" in html
    assert stored_count() == 0
    assert ruleset_for(ruleset_id, version).sha256 == before


def test_uploaded_version_is_never_replaced(client, logged_in):
    logged_in(Role.ADMIN)
    first = unit_file(band_85="16")
    assert post_upload(client, first).status_code == 302

    response = post_upload(client, unit_file(band_85="17"))

    assert response.status_code == 400
    assert "规则集 sanhe-2025 版本 1 已存在" in response.get_data(as_text=True)
    assert stored_count() == 1
    assert ruleset_for("sanhe-2025", "1").sha256 == hashlib.sha256(first).hexdigest()


def test_service_refuses_a_duplicate_too(app, make_user):
    admin = make_user(role=Role.ADMIN)
    upload_ruleset(unit_file(), "a.toml", admin)
    with pytest.raises(ServiceError, match="已存在"):
        upload_ruleset(unit_file(band_85="17"), "b.toml", admin)


def test_non_utf8_file_is_refused(client, logged_in):
    logged_in(Role.ADMIN)
    data = unit_file().decode("utf-8").encode("gb18030")

    response = post_upload(client, data)

    assert response.status_code == 400
    assert "不是 UTF-8 编码" in response.get_data(as_text=True)
    assert stored_count() == 0


def test_oversized_file_is_refused(client, logged_in):
    logged_in(Role.ADMIN)
    data = unit_file() + b"\n" + b"#" * MAX_RULESET_BYTES

    response = post_upload(client, data)

    assert response.status_code == 400
    assert "超过上限 256 KB" in response.get_data(as_text=True)
    assert stored_count() == 0


def test_wrong_extension_and_missing_file_are_refused(client, logged_in):
    logged_in(Role.ADMIN)
    response = post_upload(client, unit_file(), filename="sanhe.txt")
    assert response.status_code == 400
    assert "只能上传 .toml" in response.get_data(as_text=True)

    token = csrf_token_from(client.get("/admin/rulesets").get_data(as_text=True))
    response = client.post("/admin/rulesets", data={"csrf_token": token})
    assert response.status_code == 400
    assert "请选择规则集文件" in response.get_data(as_text=True)
    assert stored_count() == 0


def test_overlong_version_is_refused_not_a_database_error(client, logged_in):
    logged_in(Role.ADMIN)
    response = post_upload(client, unit_file(version="1" * 40))
    assert response.status_code == 400
    assert "version 不能超过 32 个字符" in response.get_data(as_text=True)
    assert stored_count() == 0


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.ASSESSOR])
def test_other_roles_get_403(client, logged_in, role):
    logged_in(role)
    assert client.get("/admin/rulesets").status_code == 403
    assert client.get("/admin/rulesets/langfang-2014/1").status_code == 403
    assert client.get("/admin/rulesets/langfang-2014/1/file").status_code == 403
    response = client.post(
        "/admin/rulesets",
        data={"file": (BytesIO(unit_file()), "sanhe.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 403)  # refused by CSRF or by role, never stored
    assert stored_count() == 0


def test_organizer_post_with_token_gets_403(client, logged_in):
    logged_in(Role.ORGANIZER)
    token = csrf_token_from(client.get("/sessions").get_data(as_text=True))
    response = post_upload(client, unit_file(), csrf=token)
    assert response.status_code == 403
    assert stored_count() == 0


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/admin/rulesets")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_upload_without_csrf_token_gets_400(client, logged_in):
    logged_in(Role.ADMIN)
    response = post_upload(client, unit_file(), csrf=False)
    assert response.status_code == 400
    assert "请求来源无法验证" in response.get_data(as_text=True)
    assert stored_count() == 0


def test_admin_header_links_to_rule_sets(client, logged_in):
    logged_in(Role.ADMIN)
    assert 'href="/admin/rulesets"' in client.get("/sessions").get_data(as_text=True)


def test_scored_session_keeps_its_version_after_a_newer_upload(client, logged_in):
    admin = logged_in(Role.ADMIN)
    assert post_upload(client, unit_file(version="1", band_85="16")).status_code == 302
    session = EvalSession(
        title="2025年度民主测评", owner=admin, rule_set_key="sanhe-2025", rule_set_version="1"
    )
    db.session.add(session)
    db.session.commit()
    scored_with = ruleset_for(session.rule_set_key, session.rule_set_version).sha256

    assert post_upload(client, unit_file(version="2", band_85="17")).status_code == 302

    assert ruleset_for(session.rule_set_key, session.rule_set_version).sha256 == scored_with
    assert ruleset_for("sanhe-2025", "2").sha256 != scored_with
    versions = [(r.id, r.version) for r in available_rulesets() if r.id == "sanhe-2025"]
    assert versions == [("sanhe-2025", "1"), ("sanhe-2025", "2")]


def test_available_rule_sets_are_sorted_by_id_then_version(app, make_user):
    admin = make_user(role=Role.ADMIN)
    for version in ("10", "2", "1"):
        upload_ruleset(unit_file("aaa-unit", version), f"aaa-{version}.toml", admin)
    upload_ruleset(unit_file("langfang-2014", "2"), "langfang-2.toml", admin)

    keys = [(r.id, r.version) for r in available_rulesets()]

    assert keys[:3] == [("aaa-unit", "1"), ("aaa-unit", "2"), ("aaa-unit", "10")]
    assert keys.index(("langfang-2014", "1")) + 1 == keys.index(("langfang-2014", "2"))
    assert keys == sorted(keys, key=lambda k: k[0])


def test_stored_file_that_was_altered_is_not_used(app, make_user):
    admin = make_user(role=Role.ADMIN)
    upload_ruleset(unit_file(), "a.toml", admin)
    row = db.session.scalar(sa.select(RuleSetRecord))
    row.content = row.content.replace('value = "16"', 'value = "17"')
    db.session.commit()
    with pytest.raises(ServiceError, match="SHA-256 不符"):
        ruleset_for("sanhe-2025", "1")
