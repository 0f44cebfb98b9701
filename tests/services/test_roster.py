"""Roster import (XLSX and CSV): Chinese headers, row-by-row errors, all or nothing."""

import io

import pytest
from openpyxl import Workbook

from survey.extensions import db
from survey.models import SubjectRole
from survey.services import roster
from survey.services import sessions as sessions_service
from survey.services.roster import RosterError, SubjectInput
from survey.services.sessions import SessionInput
from tests.conftest import csrf_token_from

GOOD = [
    ["姓名", "职务", "类别", "排序"],
    ["县委领导班子", "", "领导班子", "1"],
    ["李华", "县委副书记、县长", "班子成员", "3"],
    ["张明", "县委书记", "主要负责人", "2"],
    ["王芳", "县委常委、纪委书记", "班子成员", ""],
]


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    return "\r\n".join(",".join(str(c) for c in row) for row in rows).encode(encoding)


@pytest.fixture
def draft(app, make_user):
    owner = make_user()
    session = sessions_service.create_session(owner, SessionInput(title="名单导入"))
    db.session.commit()  # as the request that created it would have
    return session, owner


def names(session) -> list[tuple[str, str, SubjectRole]]:
    db.session.expire_all()
    return [(s.name, s.post, s.kind) for s in sorted(session.subjects, key=lambda s: s.position)]


EXPECTED = [
    ("县委领导班子", "", SubjectRole.TEAM),
    ("张明", "县委书记", SubjectRole.PRINCIPAL),
    ("李华", "县委副书记、县长", SubjectRole.MEMBER),
    ("王芳", "县委常委、纪委书记", SubjectRole.MEMBER),
]


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("名单.xlsx", xlsx(GOOD)),
        ("名单.csv", csv_bytes(GOOD)),
        ("名单.CSV", csv_bytes(GOOD, "gb18030")),  # as Excel saves CSV on a Chinese Windows
    ],
    ids=["xlsx", "csv-utf8", "csv-gbk"],
)
def test_a_good_roster_imports_in_its_order(app, draft, filename, data):
    session, owner = draft
    assert roster.import_roster(session, filename, data, replace=False, actor=owner) == 4
    # 排序 first (1, 2, 3), then the row without one.
    assert names(session) == EXPECTED


def test_xlsx_numbers_and_extra_columns_are_fine(app, draft):
    session, owner = draft
    rows = [["序号", "姓名*", "备注", "类别", "职务"], [1, "县委领导班子", "x", "领导班子", None]]
    rows.append([2.0, "张明", "", "主要负责人", "县委书记"])
    roster.import_roster(session, "r.xlsx", xlsx(rows), replace=False, actor=owner)
    assert names(session) == EXPECTED[:2]


BAD = [
    ["姓名", "职务", "类别", "排序"],
    ["县委领导班子", "", "领导班子", "1"],
    ["", "县委书记", "主要负责人", ""],
    ["李华", "县长", "副书记", ""],
    ["王芳", "纪委书记", "", "x"],
    ["", "", "", ""],
    ["李华", "县长", "班子成员", ""],
    ["李华", "县长", "班子成员", ""],
    ["另一个班子", "", "领导班子", ""],
]


@pytest.mark.parametrize(
    ("filename", "data"),
    [("bad.xlsx", xlsx(BAD)), ("bad.csv", csv_bytes(BAD))],
    ids=["xlsx", "csv"],
)
def test_errors_are_listed_row_by_row_and_nothing_is_imported(app, draft, filename, data):
    session, owner = draft
    roster.add_subject(session, SubjectInput("已有成员", "", SubjectRole.MEMBER), owner)
    db.session.commit()
    with pytest.raises(RosterError) as refused:
        roster.import_roster(session, filename, data, replace=True, actor=owner)
    db.session.rollback()
    assert refused.value.errors == [
        "第3行：姓名为空",
        "第4行：类别“副书记”无法识别，应填写“领导班子”“主要负责人”或“班子成员”",
        "第5行：类别为空，应填写“领导班子”“主要负责人”或“班子成员”，排序“x”不是整数",
        "第8行：与第7行重复",
        "第2行、第9行：类别都是“领导班子”，每次测评只能有一个领导班子",
    ]
    assert "未导入任何测评对象" in str(refused.value)
    # replace=True did not wipe the existing list either.
    assert names(session) == [("已有成员", "", SubjectRole.MEMBER)]


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("r.csv", csv_bytes([["名字", "职务"], ["张明", "书记"]]), "缺少“姓名”列"),
        ("r.csv", csv_bytes([["姓名", "职务"], ["张明", "书记"]]), "缺少“类别”列"),
        ("r.csv", b"", "文件中没有内容"),
        ("r.csv", csv_bytes([["姓名", "类别"]]), "名单中没有测评对象"),
        ("r.xls", b"\xd0\xcf\x11\xe0", "另存为 .xlsx"),
        ("r.pdf", b"%PDF-1.4", "只支持 .xlsx 或 .csv"),
        ("r.xlsx", b"PK\x03\x04 not really a zip", "无法读取 XLSX 文件"),
        ("r.csv", "姓名,类别\n张明,班子成员\n".encode("utf-16"), "编码"),
        ("r.csv", csv_bytes([["姓名", "姓名", "类别"]]), "“姓名”列重复"),
    ],
)
def test_unreadable_files_are_refused_in_chinese(app, draft, filename, data, message):
    session, owner = draft
    with pytest.raises(RosterError, match=message):
        roster.import_roster(session, filename, data, replace=False, actor=owner)
    db.session.rollback()
    assert names(session) == []


def test_too_many_rows_are_refused(app, draft):
    session, owner = draft
    rows = [["姓名", "类别"]] + [[f"成员{i}", "班子成员"] for i in range(roster.MAX_ROWS + 1)]
    with pytest.raises(RosterError, match="超过300行"):
        roster.import_roster(session, "r.csv", csv_bytes(rows), replace=False, actor=owner)


def test_appending_a_second_team_is_refused_but_replacing_works(app, draft):
    session, owner = draft
    roster.import_roster(session, "a.csv", csv_bytes(GOOD), replace=False, actor=owner)
    db.session.commit()
    with pytest.raises(RosterError, match="已有领导班子“县委领导班子”.*替换现有测评对象"):
        roster.import_roster(session, "b.csv", csv_bytes(GOOD), replace=False, actor=owner)
    db.session.rollback()
    assert len(names(session)) == 4
    members = [["姓名", "类别"], ["赵强", "班子成员"]]
    roster.import_roster(session, "c.csv", csv_bytes(members), replace=False, actor=owner)
    assert names(session)[-1] == ("赵强", "", SubjectRole.MEMBER)
    roster.import_roster(session, "d.csv", csv_bytes(GOOD), replace=True, actor=owner)
    assert names(session) == EXPECTED


def test_import_from_the_page_shows_every_error(app, client, logged_in):
    owner = logged_in()
    session = sessions_service.create_session(owner, SessionInput(title="名单页面"))
    page = client.get(f"/sessions/{session.id}/subjects")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        f"/sessions/{session.id}/subjects/import",
        data={"csrf_token": token, "file": (io.BytesIO(xlsx(BAD)), "名单.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "未导入任何测评对象" in html
    assert "第4行：类别“副书记”无法识别" in html
    assert "第8行：与第7行重复" in html
    assert names(session) == []

    response = client.post(
        f"/sessions/{session.id}/subjects/import",
        data={"csrf_token": token, "file": (io.BytesIO(csv_bytes(GOOD)), "名单.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert names(session) == EXPECTED
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已从名单导入4个测评对象" in html


def test_a_formula_without_a_saved_value_is_not_called_empty(app, draft):
    session, owner = draft
    rows = [["姓名", "职务", "类别"], ['=CONCAT("张","明")', "县委书记", "主要负责人"]]
    with pytest.raises(RosterError) as refused:
        roster.import_roster(session, "r.xlsx", xlsx(rows), replace=False, actor=owner)
    assert refused.value.errors == [
        '第2行第1列是公式 =CONCAT("张","明")，但文件中没有保存计算结果，'
        "请在 Excel 中打开、重新计算并保存，或直接填写内容"
    ]


def test_any_number_of_principals_and_the_words_survey_score_accepts(app, draft):
    session, owner = draft
    rows = [
        ["姓名", "职务", "类别"],
        ["县委领导班子", "", "领导班子"],
        ["张明", "县委书记", "主要负责人"],
        ["李华", "县长", "主要负责人"],
        ["王芳", "纪委书记", "其他班子成员"],
    ]
    assert roster.import_roster(session, "r.csv", csv_bytes(rows), replace=False, actor=owner) == 4
    more = [["姓名", "类别"], ["孙伟", "主要负责人"]]
    roster.import_roster(session, "m.csv", csv_bytes(more), replace=False, actor=owner)
    assert [kind for _, _, kind in names(session)] == [
        SubjectRole.TEAM,
        SubjectRole.PRINCIPAL,
        SubjectRole.PRINCIPAL,
        SubjectRole.MEMBER,
        SubjectRole.PRINCIPAL,
    ]
