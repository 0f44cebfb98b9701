"""Questionnaires as data: the three shipped forms, scored items, and rewording before opening."""

import copy
import json
from fractions import Fraction

import pytest

from survey.domain.questionnaire import QuestionnaireError, from_document, shipped
from survey.extensions import db
from survey.services import ServiceError
from survey.services import sessions as sessions_service
from survey.services.sessions import QuestionnaireWording, SessionInput


def test_the_questionnaires_are_shipped():
    forms = shipped()
    assert {key: q.title for key, q in forms.items()} == {
        "dangfeng-zerenzhi": "党风廉政建设责任制民主测评表",
        "shuze-shulian": "述责述廉民主测评表",
        "lianjie-fengxian": "廉洁风险防范管理工作民主测评问卷",
        "chengzhi": "领导干部民主测评表（称职以上率）",
        "manyi": "满意度测评表",
    }


def test_shuze_shulian_rates_duty_and_integrity_separately_plus_overall():
    form = shipped()["shuze-shulian"]
    for kind in ("principal", "member"):
        assert [i.key for i in form.items_for(kind)] == ["shuze", "shulian", "overall"]
    assert form.items_for("team") == ()
    assert form.comment_per_subject and form.comment_overall
    assert not form.scored


def test_the_risk_questionnaire_is_scored_out_of_100():
    form = shipped()["lianjie-fengxian"]
    assert form.scored
    assert sum(i.points for i in form.items_for("team")) == 100
    assert {o.label: o.credit for o in form.options} == {
        "好": 1,
        "较好": Fraction(4, 5),
        "一般": Fraction(3, 5),
        "差": 0,
    }
    assert form.points_for("risk_points", "fairly_good") == 12
    assert form.points_for("leadership", "average") == 6
    assert sum(form.points_for(i.key, "good") for i in form.items) == 100


def test_points_survive_the_frozen_json_exactly():
    form = shipped()["lianjie-fengxian"]
    again = from_document(json.loads(form.canonical_json()))
    assert again == form
    assert again.sha256() == form.sha256()
    assert '"credit":"0.8"' in form.canonical_json()


def test_an_unscored_form_prints_no_points_so_its_hash_is_unchanged():
    form = shipped()["dangfeng-zerenzhi"]
    assert "points" not in form.canonical_json() and "credit" not in form.canonical_json()
    # The hash the foundation's format gave this file (pinned: sessions frozen with it exist).
    assert form.sha256().startswith("ae3cc45d50da")


def scored_doc() -> dict:
    return copy.deepcopy(shipped()["lianjie-fengxian"].to_document())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["items"][0].update(points="11"), "合计应为100分，现为101分"),
        (lambda d: d["items"][0].pop("points"), "应有大于0的分值"),
        (lambda d: d["items"][0].update(points="0"), "应有大于0的分值"),
        (lambda d: d["items"][0].update(points=0.5), "应写成带引号的小数"),
        (lambda d: d["items"][0].update(points="十"), "不是有效的数"),
        (lambda d: d["scale"]["options"][0].update(credit="1.2"), "折算比例应在0到1之间"),
        (lambda d: d["scale"]["options"][3].pop("credit"), "折算比例应在0到1之间"),
        (lambda d: d["scale"]["options"][0].update(credit="0.9"), "最高等次的折算比例应为1"),
    ],
)
def test_scored_forms_are_checked_when_loaded(change, message):
    doc = scored_doc()
    change(doc)
    with pytest.raises(QuestionnaireError, match=message):
        from_document(doc)


def test_credits_without_points_are_refused():
    doc = shipped()["dangfeng-zerenzhi"].to_document()
    doc["scale"]["options"][0]["credit"] = "1"
    with pytest.raises(QuestionnaireError, match="测评项目没有分值"):
        from_document(doc)


def test_points_may_have_decimals_and_add_up_per_kind():
    doc = scored_doc()
    doc["items"][0]["points"] = "9.5"
    doc["items"][1]["points"] = "10.5"
    assert from_document(doc).items[0].points == Fraction(19, 2)
    doc["items"].append({"key": "m", "label": "成员项", "applies_to": ["member"], "points": "100"})
    assert from_document(doc).scored


def test_rewording_keeps_scale_and_points_and_is_logged(app, make_user):
    owner = make_user()
    session = sessions_service.create_session(
        owner, SessionInput(title="廉洁风险", questionnaire="lianjie-fengxian")
    )
    wording = QuestionnaireWording(
        title="  2025年 廉洁风险防范  问卷 ",
        instructions="请如实填写。",
        item_labels={"leadership": "领导重视"},
        comment_per_subject=True,
        comment_overall=False,
        comment_max_length=200,
    )
    sessions_service.reword_questionnaire(session, wording, owner)
    db.session.expire_all()
    form = sessions_service.questionnaire_of(session)
    assert form.title == "2025年 廉洁风险防范 问卷"
    assert form.items[0].label == "领导重视"
    assert form.items[1].label == shipped()["lianjie-fengxian"].items[1].label
    assert (form.comment_per_subject, form.comment_overall, form.comment_max_length) == (
        True,
        False,
        200,
    )
    assert [i.points for i in form.items] == [i.points for i in shipped()["lianjie-fengxian"].items]


@pytest.mark.parametrize(
    ("wording", "message"),
    [
        (QuestionnaireWording("", "", {}, True, True, 500), "标题不能为空"),
        (QuestionnaireWording("表", "", {"overall": " "}, True, True, 500), "项目名称不能为空"),
        (QuestionnaireWording("表", "", {}, True, True, 0), "1到5000"),
        (QuestionnaireWording("表", "", {}, True, True, 5001), "1到5000"),
    ],
)
def test_bad_wording_is_refused(app, make_user, wording, message):
    owner = make_user()
    session = sessions_service.create_session(owner, SessionInput(title="测评"))
    before = session.questionnaire
    with pytest.raises(ServiceError, match=message):
        sessions_service.reword_questionnaire(session, wording, owner)
    db.session.rollback()
    assert session.questionnaire == before


def test_the_meeting_type_picks_the_default_form_and_rule_set(app, make_user):
    from survey.models import MeetingType

    owner = make_user()
    made = {
        t: sessions_service.create_session(owner, SessionInput(title="测评", meeting_type=t))
        for t in MeetingType
    }
    assert {t: sessions_service.questionnaire_of(s).key for t, s in made.items()} == {
        MeetingType.REPORT_EVALUATE: "dangfeng-zerenzhi",
        MeetingType.SHUZE_SHULIAN: "shuze-shulian",
        MeetingType.RISK_PREVENTION: "lianjie-fengxian",
    }
    assert made[MeetingType.REPORT_EVALUATE].rule_set_key == "langfang-2014"
    assert made[MeetingType.RISK_PREVENTION].rule_set_key == "integrity-risk-grades"
    with pytest.raises(ServiceError, match="请选择列表中的规则集"):
        sessions_service.create_session(owner, SessionInput(title="测评", rule_set="nope:1"))
