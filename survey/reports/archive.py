"""Per-subject sheets: the 廉政档案 result sheet and the 述责述廉 written feedback; the archive ZIP.

A result sheet is what an archivist files in the subject's personnel file, so it carries the
rule set's hash, the seal and how to verify it against the archive.json filed alongside.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from survey.clock import in_beijing
from survey.domain.evaluation import SubjectResult
from survey.domain.roles import SubjectRole
from survey.reports.figures import (
    VERIFY_HINT,
    average_text,
    decimal_text,
    grade_text,
    graded_text,
    option_labels,
    points_text,
    rate_text,
    role_label,
    table_of,
    turnout_pairs,
)
from survey.reports.pdf import (
    GREY,
    SIGN_LINE,
    ResultDocument,
    qr_text,
    render,
    report_document,
    session_facts,
)

if TYPE_CHECKING:  # the shape reports take; services build it
    from survey.services.results import SessionResults

REPORT_NAME = "测评结果报告.pdf"
WORKBOOK_NAME = "测评统计表.xlsx"
ARCHIVE_JSON_NAME = "archive.json"
COMMENT_KEEP = 16.0
_UNSAFE_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
# China has no daylight saving time, so a fixed offset is exact.


def subject_sheet(results: SessionResults, subject: SubjectResult) -> bytes:
    """Return the one-page 廉政档案 result sheet of one subject."""
    return render(results, lambda font: _sheet_document(results, subject, font))


def _sheet_document(
    results: SessionResults, subject: SubjectResult, font: Path | None
) -> ResultDocument:

    pdf = ResultDocument(results, f"{subject.spec.name} 民主测评结果单", font)
    pdf.add_page()
    pdf.title_block("民主测评结果单", "（廉政档案）")
    pairs = [
        ("测评对象", subject.spec.name),
        ("职务", subject.spec.post or "—"),
        ("类别", role_label(subject)),
        *session_facts(results),
        *turnout_pairs(results),
    ]
    counts = subject.counts
    if counts is not None:
        spread = "，".join(
            f"{label} {counts.options[key]}" for key, label in option_labels(results)
        )
        pairs += [
            ("有效票 / 弃权", f"{counts.valid} / {counts.abstain}"),
            ("评价分布", spread),
            (results.questionnaire.rate_label, rate_text(subject)),
        ]
        table = table_of(results, subject)
        if subject.band and table is not None:
            pairs.append(("所在分档", f"{table.title}：{subject.band}"))
    pairs += _score_pairs(results, subject)
    ruleset = results.ruleset
    pairs += [
        ("规则集", ruleset.label),
        ("规则集 SHA-256", ruleset.sha256),
    ]
    pdf.facts(pairs, size=8.5)
    pdf.paragraph(
        "较好以上率 =（好 + 较好）÷ 有效票，按精确分数对照分档；括号内为票数。",
        size=8,
        colour=GREY,
    )
    pdf.signing_block(
        results,
        qr_text(results, subject.spec.name),
        "本结果单内嵌考核组签发时的数字签名，单独一份即可校验；"
        f"{VERIFY_HINT}，二维码含两个封存码和签名公钥指纹。",
        [f"考核组：{SIGN_LINE}", f"归档人：{SIGN_LINE}", f"日期：{SIGN_LINE}"],
        size=8,
    )
    return pdf


def _score_pairs(results: SessionResults, subject: SubjectResult) -> list[tuple[str, str]]:
    if results.questionnaire.scored:
        if subject.combined is None:
            return [
                ("问卷得分", graded_text(subject) or "—"),
                ("等次", grade_text(subject)),
            ]
        # Seed 003: label each part, then the combined 百分制 the grade is given on.
        pairs = [
            (f"{name}（权重 {decimal_text(weight * 100)}%）", average_text(score) or "未录入")
            for name, weight, score in subject.combined.parts
        ]
        return [
            *pairs,
            ("综合得分（百分制）", graded_text(subject) or "—"),
            ("等次", grade_text(subject)),
        ]
    if subject.points is not None:
        pairs = [("民主测评得分", points_text(subject))]
        if subject.final is not None:
            pairs.append(("领导班子得分（十分制）", decimal_text(subject.final)))
        return pairs
    if subject.deduction is None:
        return []
    final = decimal_text(subject.final) or "待领导班子其他考核部分录入后计算"
    return [
        ("民主测评扣分", points_text(subject)),
        ("个人得分", decimal_text(subject.personal)),
        ("最终得分", final),
    ]


def feedback_sheet(results: SessionResults, subject: SubjectResult) -> bytes:
    """Return the written feedback of the anonymous 意见建议 about one subject."""
    comments = [*subject.comments, *results.overall_comments]
    return render(results, lambda font: _feedback_document(results, subject, font), comments)


def _feedback_document(
    results: SessionResults, subject: SubjectResult, font: Path | None
) -> ResultDocument:
    pdf = ResultDocument(results, f"{subject.spec.name} 民主评议意见反馈", font)
    pdf.add_page()
    pdf.title_block("民主评议意见书面反馈", f"（{results.session.meeting_type.label}）")
    who = f"{subject.spec.name}（{subject.spec.post}）" if subject.spec.post else subject.spec.name
    # Sorted by text, whatever order they come in: the order of ballots must not show.
    comments = sorted(subject.comments)
    pdf.facts(
        [
            ("反馈对象", who),
            *session_facts(results)[:4],
            ("意见建议", f"共 {len(comments)} 条"),
        ]
    )
    pdf.paragraph(
        "以下意见建议由参评人员无记名填写，原文照录，按文字排序，不反映填写顺序或填写人。"
        "请对照认真整改，并在规定期限内将整改情况书面报组织部门和纪委。",
        size=9,
        colour=GREY,
    )
    if not comments:
        pdf.paragraph("本次测评没有针对您的意见建议。")
    _comment_boxes(pdf, comments)
    # The ballots' 总体意见建议 speak to the whole team: its feedback carries them too.
    if subject.spec.role == SubjectRole.TEAM:
        overall = sorted(results.overall_comments)
        pdf.heading(f"总体意见建议（共 {len(overall)} 条）")
        if not overall:
            pdf.paragraph("本次测评没有总体意见建议。")
        _comment_boxes(pdf, overall)
    pdf.signatures(
        [
            f"组织部门（盖章）：{SIGN_LINE}    纪委（盖章）：{SIGN_LINE}",
            f"反馈对象签收：{SIGN_LINE}    日期：{SIGN_LINE}",
        ]
    )
    return pdf


def _comment_boxes(pdf, comments: list[str]) -> None:
    for number, comment in enumerate(comments, start=1):
        if pdf.will_page_break(COMMENT_KEEP):
            pdf.add_page()  # keep the number with (the start of) its box
        pdf.set_font(pdf.family, size=8)
        pdf.set_text_color(*GREY)
        pdf.cell(w=0, h=5, text=f"第 {number} 条", new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(pdf.family, size=10)
        pdf.block(comment, 5.5, border=1)
        pdf.ln(2)


def sheet_filename(number: int, subject: SubjectResult) -> str:
    """Return "01-张明-廉政档案.pdf", with characters file systems refuse taken out."""
    name = _UNSAFE_IN_FILE_NAMES.sub("", subject.spec.name).strip(" .") or "测评对象"
    return f"{number:02d}-{name[:40]}-廉政档案.pdf"


def archive_documents(results: SessionResults) -> list[tuple[str, bytes, int | None]]:
    """Return (file name, unsigned PDF, subject id or None) for every sheet and the report."""
    # Every document takes the same cut of the font (built once, kept for the process).
    members = [
        (
            sheet_filename(number, row),
            render(results, lambda font, row=row: _sheet_document(results, row, font)),
            row.spec.id,
        )
        for number, row in enumerate(results.subjects, start=1)
    ]
    report = render(results, lambda font: report_document(results, font))
    members.append((REPORT_NAME, report, None))
    return members


def zip_bytes(results: SessionResults, members: list[tuple[str, bytes]]) -> bytes:
    """Pack the members, dated at the close (Beijing time), in the order given."""
    stamp = _zip_time(results)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # readable files once unpacked
            bundle.writestr(info, data)
    return buffer.getvalue()


def _zip_time(results: SessionResults) -> tuple[int, int, int, int, int, int]:
    """Date the members at the close (Beijing time), not at the download."""
    closed = results.session.closed_at
    if closed is None:
        return (1980, 1, 1, 0, 0, 0)
    local = in_beijing(closed)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)
