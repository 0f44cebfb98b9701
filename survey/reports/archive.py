"""Per-subject sheets: the 廉政档案 result sheet and the 述责述廉 written feedback; the archive ZIP.

A result sheet is what an archivist files in the subject's personnel file, so it carries the
rule set's hash, the seal and how to verify it against the archive.json filed alongside.
"""

import io
import re
import zipfile
from pathlib import Path

from survey.clock import in_beijing
from survey.domain.roles import SubjectRole
from survey.reports.figures import (
    VERIFY_HINT,
    average_text,
    decimal_text,
    option_labels,
    points_text,
    rate_text,
    role_label,
    seal_text,
    table_of,
)
from survey.reports.pdf import (
    GREY,
    SIGN_LINE,
    FontCut,
    ResultDocument,
    alphabet,
    report_document,
    session_facts,
)
from survey.reports.xlsx import tally_workbook
from survey.services.results import SessionResults, SubjectResult

REPORT_NAME = "测评结果报告.pdf"
WORKBOOK_NAME = "测评统计表.xlsx"
ARCHIVE_JSON_NAME = "archive.json"
COMMENT_KEEP = 16.0
_UNSAFE_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')
# China has no daylight saving time, so a fixed offset is exact.


def subject_sheet(results: SessionResults, subject: SubjectResult) -> bytes:
    """Return the one-page 廉政档案 result sheet of one subject."""
    return _sheet_document(results, subject, None).finish()


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
        ("应到 / 收回", f"{results.expected} 人 / {results.received} 份"),
    ]
    counts = subject.counts
    if counts is not None:
        spread = "，".join(
            f"{label} {counts.options[key]}" for key, label in option_labels(results)
        )
        pairs += [
            ("有效票 / 弃权", f"{counts.valid} / {counts.abstain}"),
            ("评价分布", spread),
            ("较好以上率", rate_text(subject)),
        ]
        table = table_of(results, subject)
        if subject.band and table is not None:
            pairs.append(("所在分档", f"{table.title}：{subject.band}"))
    pairs += _score_pairs(results, subject)
    ruleset = results.ruleset
    pairs += [
        ("规则集", ruleset.label),
        ("规则集 SHA-256", ruleset.sha256),
        ("封存码", seal_text(results)),
        ("校验", f"{VERIFY_HINT}（与本结果单一并归档的 archive.json）"),
    ]
    pdf.facts(pairs)
    pdf.paragraph(
        "较好以上率 =（好 + 较好）÷ 有效票，按精确分数对照分档；括号内为票数。",
        size=8,
        colour=GREY,
    )
    pdf.signatures([f"考核组：{SIGN_LINE}", f"归档人：{SIGN_LINE}", f"日期：{SIGN_LINE}"])
    return pdf


def _score_pairs(results: SessionResults, subject: SubjectResult) -> list[tuple[str, str]]:
    if results.questionnaire.scored:
        return [
            ("问卷得分", average_text(subject.score_total) or "—"),
            ("等次", subject.grade or "—"),
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
    pdf = ResultDocument(results, f"{subject.spec.name} 民主评议意见反馈")
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
    return pdf.finish()


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


def archive_zip(results: SessionResults, archive_json: bytes) -> bytes:
    """Return a ZIP of every subject's result sheet, the report, the workbook and archive.json."""
    stamp = _zip_time(results)
    with FontCut(alphabet(results)) as cut:
        members = [
            (
                sheet_filename(number, row),
                cut.render(lambda font, row=row: _sheet_document(results, row, font)),
            )
            for number, row in enumerate(results.subjects, start=1)
        ]
        members.append((REPORT_NAME, cut.render(lambda font: report_document(results, font))))
    members += [(WORKBOOK_NAME, tally_workbook(results)), (ARCHIVE_JSON_NAME, archive_json)]
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
