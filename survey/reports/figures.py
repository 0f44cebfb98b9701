"""The figures every report prints, as exact text: one place, so XLSX and PDF never disagree."""

from __future__ import annotations

import re
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING

from survey.clock import in_beijing
from survey.domain.evaluation import SubjectResult
from survey.domain.numbers import format_decimal, format_fixed, format_percent, format_ratio
from survey.domain.roles import SubjectRole
from survey.domain.tally import MIN_GROUP_SIZE_FLOOR

if TYPE_CHECKING:  # the shape reports take; services build it
    from survey.services.results import SessionResults

NO_VALID_VOTES = "无有效票"
VERIFY_HINT = "可用 survey verify 或平台“归档校验”页校验归档文件"
NOT_SIGNED_OFF = "未签发（考核组签发后生成）"


def decimal_text(value: Fraction | int | None) -> str:
    """Return an exact decimal ("9.35"); a value with no finite decimal shows 4 places and ≈."""
    if value is None:
        return ""
    try:
        return format_decimal(value)
    except ValueError:
        # Only a unit's own rule set with odd weights gets here; say that the value is rounded.
        return f"≈{format_fixed(value, 4)}"


def rate_fraction(row: SubjectResult) -> str:
    """Return the rate as "189/199": good-or-better over valid votes, unreduced.

    When the rule set weighs rater groups, the rate is no longer that quotient; then the
    weighted rate is shown as its own exact fraction.
    """
    if row.rate is None or row.counts is None:
        return ""
    pooled = Fraction(row.good_or_better, row.counts.valid)
    if row.rate == pooled:
        return f"{row.good_or_better}/{row.counts.valid}"
    return format_ratio(row.rate)


def percent_text(rate: Fraction | None) -> str:
    """Return a rate as "94.97%" (rounded half up, for display only), or 无有效票."""
    return NO_VALID_VOTES if rate is None else format_percent(rate)


def rate_percent(row: SubjectResult) -> str:
    """Return a subject's scored rate as "94.97%", or 无有效票."""
    return percent_text(row.rate)


def rate_text(row: SubjectResult) -> str:
    """Return "94.97%（189/199）", or 无有效票."""
    if row.rate is None:
        return NO_VALID_VOTES
    note = f"，{row.rate_note}" if row.rate_note else ""
    pooled = f"；按类别加权，{row.pooled_text}" if row.pooled_text else ""
    return f"{rate_percent(row)}（{rate_fraction(row)}{note}）{pooled}"


def average_text(value: Fraction | None) -> str:
    """Return an average of item points to two places; a mean over n ballots rarely terminates."""
    return "" if value is None else format_fixed(value, 2)


def band_text(row: SubjectResult) -> str:
    """Return the band, with "（精确值低于95%）" when the rounded rate suggests another one."""
    if not row.band:
        return ""
    return f"{row.band}（{row.rate_note}）" if row.rate_note else row.band


def graded_text(row: SubjectResult) -> str:
    """Return the score a grade is given on ("90.00"), with the fraction when rounding misleads."""
    text = average_text(row.graded_score)
    return f"{text}（{row.score_note}）" if text and row.score_note else text


def grade_text(row: SubjectResult) -> str:
    """Return the grade with the score it was given on (综合得分 or 问卷得分), or —."""
    return row.grade_text or "—"


def points_text(row: SubjectResult) -> str:
    """Return "18分" for the team, "扣0.5分" or 不扣分 for a member, or "" when not scored."""
    if row.points is not None:
        return f"{decimal_text(row.points)}分"
    if row.deduction == 0:
        return "不扣分"
    if row.deduction is not None:
        return f"扣{decimal_text(row.deduction)}分"
    return ""


def date_text(results: SessionResults) -> str:
    """Return the meeting date as 2025年1月10日 (see session_date_text)."""
    return session_date_text(results.session)


def session_date_text(session) -> str:
    """Return a session's meeting date as 2025年1月10日.

    Sessions opened since opening records the date always have one. One opened before, with
    no date typed, prints the day it opened (Beijing time), saying so; — only if never opened.
    """
    day = session.meeting_date
    if day is not None:
        return f"{day.year}年{day.month}月{day.day}日"
    opened = getattr(session, "opened_at", None)
    if opened is None:
        return "—"
    local = in_beijing(opened)
    return f"{local.year}年{local.month}月{local.day}日（开始测评日期）"


def role_label(row: SubjectResult) -> str:
    """Return 领导班子, 主要负责人 or 班子成员."""
    return SubjectRole(row.spec.role).label


def table_of(results: SessionResults, row: SubjectResult):
    """Return the band table a subject's rate is looked up in (None if the rules have none)."""
    if row.spec.role == SubjectRole.TEAM:
        return results.ruleset.team_points
    return results.ruleset.personal_deduction


def scored_rows(results: SessionResults) -> list[SubjectResult]:
    """Return the subjects that have a rated item (all of them, except on a 百分制 form)."""
    return [row for row in results.subjects if row.score_item is not None]


def option_labels(results: SessionResults) -> list[tuple[str, str]]:
    """Return the questionnaire's (option key, label) pairs in the order of the form."""
    return [(option.key, option.label) for option in results.questionnaire.options]


def hidden_groups_note(results: SessionResults) -> str:
    """Say which rater groups are not shown on their own, without any of their figures."""
    if not results.groups_hidden:
        return ""
    names = "、".join(results.groups_hidden)
    size = max(results.session.min_group_size, MIN_GROUP_SIZE_FLOOR)
    return (
        f"参评人员类别 {names} 不单独列出（收回少于 {size} 份，或为防止由合计相减推算而一并不列），"
        "其选票只计入合计。"
    )


def seal_text(results: SessionResults) -> str:
    """Return the seal, or say that the session is not sealed yet."""
    return results.seal or "未封存（测评尚未结束）"


def beijing_text(moment: datetime | None) -> str:
    """Return a stored time as "2026年11月29日 19:05:03（北京时间）", or — when there is none."""
    if moment is None:
        return "—"
    local = in_beijing(moment)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}（北京时间）"


def result_seal_text(results: SessionResults) -> str:
    return results.result_seal or NOT_SIGNED_OFF


def fingerprint_text(results: SessionResults) -> str:
    return results.key_fingerprint or "—"


def attest_pairs(results: SessionResults) -> list[tuple[str, str]]:
    """The times, both seals and the key fingerprint, as every report prints them."""
    session = results.session
    signer = session.signed_off_by or "—"
    return [
        ("结束时间", beijing_text(session.closed_at)),
        ("签发时间", beijing_text(session.signed_off_at)),
        ("签发人", signer),
        ("生成时间", beijing_text(results.generated_at)),
        ("结束封存码", seal_text(results)),
        ("结果封存码", result_seal_text(results)),
        ("签名公钥指纹", fingerprint_text(results)),
    ]


def turnout_pairs(results: SessionResults) -> list[tuple[str, str]]:
    """应到 / 实到 / 收回 and 有效 / 弃权 / 废票, as the reports print them.

    实到 is counted by the forms handed in (attendance is not recorded separately); a form
    that rates nothing is a 弃权 form; the electronic form accepts no invalid filling, so
    there are no 废票.
    """
    blank = results.blank_ballots  # counted once, not by reading every ballot
    received = results.received
    return [
        ("应到 / 实到 / 收回", f"{results.expected} 人 / {received} 人 / {received} 份"),
        ("有效 / 弃权 / 废票", f"{received - blank} 份 / {blank} 份 / 0 份"),
    ]


_HALF_AFTER_CHINESE = re.compile(r"(?<=[\u3400-\u9fff\uff09\u300b])\s*([:,;])\s*")
_HALF_BEFORE_CHINESE = re.compile(r"\s*([:,;])\s*(?=[\u3400-\u9fff])")
_FULL = {":": "：", ",": "，", ";": "；"}


def chinese_punctuation(text: str) -> str:
    """Full-width ：，； after a Chinese character ("主要负责人:个人" → "主要负责人：个人");
    ASCII punctuation between digits or Latin letters ("1,000", "v1:2") stays."""
    text = _HALF_AFTER_CHINESE.sub(lambda m: _FULL[m.group(1)], text)
    return _HALF_BEFORE_CHINESE.sub(lambda m: _FULL[m.group(1)], text)
