"""测评对象 (subjects): entered by hand or imported from a roster file, reordered, with reports.

A roster is an XLSX or CSV file whose first row holds Chinese headers: 姓名 and 类别 (领导班子 /
主要负责人 / 班子成员) are required, 职务 and 排序 optional. An import is all or nothing: any
faulty row stops it, and every fault is reported with its row number.
"""

from dataclasses import dataclass
from pathlib import PurePosixPath

import sqlalchemy as sa

from survey.extensions import db
from survey.models import EvalSession, Subject, SubjectRole, User
from survey.services import ServiceError, one_of
from survey.services.audit import record
from survey.services.sessions import require_draft
from survey.sheets import FormulaWithoutValue, UploadRefused, csv_table, xlsx_table
from survey.uploads import check_size

MAX_ROWS = 300
MAX_REPORT_CHARS = 100_000
MAX_ERRORS_SHOWN = 30
HEADERS = {
    "name": ("姓名", "名称", "测评对象"),
    "post": ("职务", "职位"),
    "kind": ("类别", "类型", "身份"),
    "order": ("排序", "序号", "顺序"),
}
REQUIRED = ("name", "kind")
KIND_HINT = "“领导班子”“主要负责人”或“班子成员”"


@dataclass(frozen=True)
class SubjectInput:
    name: str
    post: str
    kind: SubjectRole


class RosterError(ServiceError):
    """A roster that cannot be imported; `errors` lists every fault, row by row."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        shown = errors[:MAX_ERRORS_SHOWN]
        more = f"；另有{len(errors) - len(shown)}处错误" if len(errors) > len(shown) else ""
        super().__init__("名单有误，未导入任何测评对象：" + "；".join(shown) + more)


# ---- by hand ------------------------------------------------------------------------------


def _checked(data: SubjectInput) -> SubjectInput:
    name, post = " ".join(data.name.split()), " ".join(data.post.split())
    if not name:
        raise ServiceError("请填写测评对象的姓名或名称。")
    if len(name) > 100 or len(post) > 200:
        raise ServiceError("姓名不能超过100字，职务不能超过200字。")
    if not isinstance(data.kind, SubjectRole):
        raise ServiceError(f"类别应为{KIND_HINT}。")
    return SubjectInput(name, post, data.kind)


def _refuse_second(session: EvalSession, kind: SubjectRole, subject: Subject | None) -> None:
    """Keep one team per session; principals are not limited.

    Seed 002 scores "党政主要负责人" 50/50: a county's 党委、政府 team has two of them (the 书记
    and the 县长), and a team may have none on the ballot.
    """
    if kind != SubjectRole.TEAM:
        return
    other = next((s for s in session.subjects if s.kind == kind and s is not subject), None)
    if other is not None:
        raise ServiceError(f"已有{kind.label}“{other.name}”，每次测评只能有一个领导班子。")


def add_subject(session: EvalSession, data: SubjectInput, actor: User | None) -> Subject:
    """Append a subject at the end of the session's list."""
    require_draft(session, "测评对象")
    data = _checked(data)
    _refuse_second(session, data.kind, None)
    subject = Subject(name=data.name, post=data.post, kind=data.kind, position=_next(session))
    session.subjects.append(subject)
    record(actor, "add_subject", session.id, f"{data.name}（{data.kind.label}）")
    db.session.flush()
    return subject


def update_subject(subject: Subject, data: SubjectInput, actor: User | None) -> None:
    """Change a subject's name, post or kind while the session is a draft."""
    require_draft(subject.session, "测评对象")
    data = _checked(data)
    _refuse_second(subject.session, data.kind, subject)
    subject.name, subject.post, subject.kind = data.name, data.post, data.kind
    record(actor, "update_subject", subject.session_id, f"{data.name}（{data.kind.label}）")
    db.session.flush()


def delete_subject(subject: Subject, actor: User | None) -> None:
    """Remove a subject (and its report) from a draft session."""
    session = subject.session
    require_draft(session, "测评对象")
    session.subjects.remove(subject)
    record(actor, "delete_subject", session.id, subject.name)
    db.session.flush()


def move_subject(subject: Subject, direction: str, actor: User | None) -> None:
    """Swap a subject with its neighbour above ("up") or below ("down")."""
    session = subject.session
    require_draft(session, "测评对象")
    if direction not in ("up", "down"):
        raise ServiceError("无法识别的移动方向。")
    ordered = sorted(session.subjects, key=lambda s: s.position)
    index = ordered.index(subject)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(ordered):
        return
    other = ordered[other_index]
    mine, theirs = subject.position, other.position
    # (session, position) is unique: park one row outside the range while they swap.
    subject.position = -1
    db.session.flush()
    other.position = mine
    db.session.flush()
    subject.position = theirs
    record(
        actor,
        "move_subject",
        session.id,
        f"{subject.name}{'上移' if direction == 'up' else '下移'}",
    )
    db.session.flush()


def get_subject(session: EvalSession, subject_id: int) -> Subject:
    """Return one of the session's subjects, or 404."""
    return one_of(Subject, subject_id, "测评对象不存在。", session_id=session.id)


def _next(session: EvalSession) -> int:
    highest = db.session.scalar(
        sa.select(sa.func.max(Subject.position)).where(Subject.session_id == session.id)
    )
    return 0 if highest is None else highest + 1


# ---- written reports (述职报告) -----------------------------------------------------------


def set_report(
    subject: Subject, *, text: str | None = None, pdf: bytes | None = None, actor: User | None
) -> None:
    """Store a subject's written report, as text or as a PDF (one replaces the other)."""
    require_draft(subject.session, "述职报告")
    check_size(pdf or (text or "").encode(), what="述职报告文件")
    if pdf:
        if not pdf.startswith(b"%PDF-"):
            raise ServiceError("上传的文件不是PDF文件。")
        subject.report_pdf, subject.report_text = pdf, None
        detail = f"{subject.name}（PDF，{max(1, len(pdf) // 1024)} KB）"
    else:
        text = (text or "").replace("\r\n", "\n").strip()
        if not text:
            raise ServiceError("请填写报告内容，或上传PDF、TXT文件。")
        if len(text) > MAX_REPORT_CHARS:
            raise ServiceError(f"报告不能超过{MAX_REPORT_CHARS}字，较长的报告请上传PDF。")
        subject.report_text, subject.report_pdf = text, None
        detail = f"{subject.name}（文字，{len(text)}字）"
    record(actor, "upload_report", subject.session_id, detail)
    db.session.flush()


def delete_report(subject: Subject, actor: User | None) -> None:
    """Remove a subject's written report."""
    require_draft(subject.session, "述职报告")
    subject.report_text = subject.report_pdf = None
    record(actor, "delete_report", subject.session_id, subject.name)
    db.session.flush()


# ---- roster import ------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    row: int
    subject: SubjectInput
    order: int | None


def import_roster(
    session: EvalSession, filename: str, data: bytes, *, replace: bool, actor: User | None
) -> int:
    """Add (or, with replace, substitute) every subject of a roster file, or none at all."""
    require_draft(session, "测评对象")
    rows = parse_roster(filename, data)
    errors = []
    existing = [] if replace else list(session.subjects)
    kind = SubjectRole.TEAM
    mine = [r for r in rows if r.subject.kind == kind]
    theirs = [s for s in existing if s.kind == kind]
    if mine and theirs:
        errors.append(
            f"第{mine[0].row}行：已有{kind.label}“{theirs[0].name}”，"
            f"不能再导入{kind.label}；如要用名单替换现有测评对象，请勾选“替换现有测评对象”"
        )
    if errors:
        raise RosterError(errors)
    if replace:
        session.subjects.clear()
        db.session.flush()
    start = 0 if replace else _next(session)
    for offset, row in enumerate(rows):
        session.subjects.append(
            Subject(
                name=row.subject.name,
                post=row.subject.post,
                kind=row.subject.kind,
                position=start + offset,
            )
        )
    name = _display_name(filename)
    record(
        actor,
        "import_roster",
        session.id,
        f"{name}，{len(rows)}人{'（替换原名单）' if replace else ''}",
    )
    db.session.flush()
    return len(rows)


def parse_roster(filename: str, data: bytes) -> list[RosterRow]:
    """Read and check a roster file; raise RosterError listing every faulty row."""
    table = _read_table(filename, data)
    header_at = next((number for number, cells in table if any(cells)), None)
    if header_at is None:
        raise RosterError(["文件中没有内容"])
    header = dict(table)[header_at]
    columns, errors = _columns(header, header_at)
    if errors:
        raise RosterError(errors)
    rows: list[RosterRow] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in table:
        if number <= header_at or not any(cells):
            continue
        if len(rows) + len(errors) >= MAX_ROWS:
            raise RosterError([f"名单超过{MAX_ROWS}行，请分开导入"])

        def cell(field: str, cells=cells) -> str:
            index = columns.get(field)
            return cells[index] if index is not None and index < len(cells) else ""

        problems = []
        name, post = " ".join(cell("name").split()), " ".join(cell("post").split())
        kind_text = "".join(cell("kind").split())
        order_text = cell("order").strip()
        if not name:
            problems.append("姓名为空")
        elif len(name) > 100:
            problems.append("姓名超过100字")
        if len(post) > 200:
            problems.append("职务超过200字")
        kind = _kind(kind_text)
        if not kind_text:
            problems.append(f"类别为空，应填写{KIND_HINT}")
        elif kind is None:
            problems.append(f"类别“{kind_text[:20]}”无法识别，应填写{KIND_HINT}")
        order = None
        if order_text:
            try:
                order = int(order_text)
            except ValueError:
                problems.append(f"排序“{order_text[:20]}”不是整数")
        if name and (name, post) in seen:
            problems.append(f"与第{seen[(name, post)]}行重复")
        if problems:
            errors.append(f"第{number}行：{'，'.join(problems)}")
            continue
        seen[(name, post)] = number
        rows.append(RosterRow(number, SubjectInput(name, post, kind), order))
    # Only the team is unique: any number of 主要负责人 (书记 and 县长 alike) may be listed.
    numbers = [f"第{r.row}行" for r in rows if r.subject.kind == SubjectRole.TEAM]
    if len(numbers) > 1:
        errors.append(f"{'、'.join(numbers)}：类别都是“领导班子”，每次测评只能有一个领导班子")
    if errors:
        raise RosterError(errors)
    if not rows:
        raise RosterError(["名单中没有测评对象（表头下方没有内容）"])
    # Rows with an order come first, by it; the rest keep the file's order after them.
    return sorted(rows, key=lambda r: (r.order is None, r.order or 0, r.row))


def _columns(header: list[str], header_at: int) -> tuple[dict[str, int], list[str]]:
    """Map the header cells onto fields; report missing or repeated columns."""
    columns: dict[str, int] = {}
    errors = []
    for index, text in enumerate(header):
        word = "".join(text.split()).strip("*＊:：")
        field = next((f for f, names in HEADERS.items() if word in names), None)
        if field is None:
            continue
        if field in columns:
            errors.append(f"第{header_at}行（表头）：“{word}”列重复")
        columns[field] = index
    for field in REQUIRED:
        if field not in columns:
            errors.append(
                f"第{header_at}行（表头）：缺少“{HEADERS[field][0]}”列"
                "（表头应为：姓名、职务、类别，可选排序）"
            )
    return columns, errors


def _read_table(filename: str, data: bytes) -> list[tuple[int, list[str]]]:
    """Return (row number, cells as text) for each row of the first sheet or the CSV."""
    suffix = PurePosixPath((filename or "").replace("\\", "/")).suffix.lower()
    if suffix == ".xls":
        raise RosterError(["不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 后重新上传"])
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(data)
    if suffix in (".csv", ".txt"):
        return _read_csv(data)
    raise RosterError(["只支持 .xlsx 或 .csv 格式的名单文件"])


def _read_xlsx(data: bytes) -> list[tuple[int, list[str]]]:
    # Bounded before openpyxl expands anything; a roster is short, so stop reading early.
    try:
        rows = xlsx_table(data, max_rows=MAX_ROWS + 50, max_columns=20, what="XLSX 文件")
    except UploadRefused as refused:
        raise RosterError([str(refused)]) from None
    formulas = [
        f"第{number}行第{column}列是公式 {value[:30]}，但文件中没有保存计算结果，"
        "请在 Excel 中打开、重新计算并保存，或直接填写内容"
        for number, values in enumerate(rows, 1)
        for column, value in enumerate(values, 1)
        if isinstance(value, FormulaWithoutValue)
    ]
    if formulas:
        raise RosterError(formulas)
    return [(number, [_text(value) for value in values]) for number, values in enumerate(rows, 1)]


def _read_csv(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        rows = csv_table(data, max_rows=MAX_ROWS + 50, what="名单文件")
    except UploadRefused as refused:
        raise RosterError([str(refused)]) from None
    return [(number, [cell.strip() for cell in cells]) for number, cells in enumerate(rows, 1)]


def _kind(text: str) -> SubjectRole | None:
    """Read a 类别 cell with the same words `survey score` accepts (e.g. 其他班子成员)."""
    try:
        return SubjectRole.from_label(text) if text else None
    except ValueError:
        return None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _display_name(filename: str) -> str:
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name[:100] or "名单文件"
