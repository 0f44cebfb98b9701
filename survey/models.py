"""The ORM. Models never commit: services own the transactions.

Ballots and their comments deliberately carry no link to a code or a person, no time, no network
address, no user agent and no sequential id; see docs/anonymity.md.
"""

import json
import secrets
from datetime import UTC, date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.domain.layout import BallotLayout
from survey.domain.questionnaire import Questionnaire, from_document
from survey.domain.roles import Labelled, SubjectRole
from survey.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


def random_id() -> str:
    """A random primary key for rows whose order of creation must stay secret."""
    return secrets.token_hex(16)


def enum_column(enum: type[StrEnum], **kwargs) -> sa.Enum:
    """Store a StrEnum as its value in a VARCHAR with a CHECK constraint on both engines."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        name=enum.__name__.lower(),
        **kwargs,
    )


def json_document(none_as_null: bool = False) -> sa.types.TypeEngine:
    """A JSON document column: JSONB on PostgreSQL, whose rows can then be compared (DISTINCT)."""
    return sa.JSON(none_as_null=none_as_null).with_variant(
        postgresql.JSONB(none_as_null=none_as_null), "postgresql"
    )


class Role(Labelled):
    ADMIN = "admin", "系统管理员"
    ORGANIZER = "organizer", "组织者"
    ASSESSOR = "assessor", "考核组"


class SessionState(Labelled):
    DRAFT = "draft", "准备中"
    OPEN = "open", "测评进行中"
    # No longer accepting ballots; the count, shuffle, seal and scrub are still under way
    # (survey/services/closing.py). Results stay hidden until CLOSED.
    CLOSING = "closing", "正在结束"
    CLOSED = "closed", "已结束"


class MeetingType(Labelled):
    REPORT_EVALUATE = "report_evaluate", "汇报测评"
    SHUZE_SHULIAN = "shuze_shulian", "述责述廉"
    RISK_PREVENTION = "risk_prevention", "廉洁风险防范管理考评"


class CodeStatus(StrEnum):
    UNUSED = "unused"
    USED = "used"
    VOID = "void"


class GrantLevel(StrEnum):
    ORGANIZE = "organize"
    ASSESS = "assess"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # Part of every login session's identity: raising it (logout, password reset, disabling)
    # ends every session of the account, on every device, at its next request.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """What the login session stores: the id and the session version, "12.3"."""
        return f"{self.id}.{self.session_version or 1}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class RuleSetRecord(db.Model):
    """A rule set file stored verbatim, so a session's scores can be recomputed years later."""

    __tablename__ = "rule_set"
    __table_args__ = (sa.UniqueConstraint("key", "version", name="uq_rule_set_key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[str] = mapped_column(sa.Text)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class EvalSession(db.Model):
    """One 测评 at one meeting: who is rated, by which groups, with which questionnaire."""

    __tablename__ = "eval_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    unit: Mapped[str] = mapped_column(sa.String(200), default="")
    meeting_date: Mapped[date | None] = mapped_column(sa.Date)
    meeting_type: Mapped[MeetingType] = mapped_column(
        enum_column(MeetingType), default=MeetingType.REPORT_EVALUATE
    )
    state: Mapped[SessionState] = mapped_column(
        enum_column(SessionState), default=SessionState.DRAFT
    )
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    rule_set_key: Mapped[str] = mapped_column(sa.String(64))
    rule_set_version: Mapped[str] = mapped_column(sa.String(32))
    # The questionnaire as JSON: editable while draft, frozen (with its hash) when opened.
    questionnaire: Mapped[str] = mapped_column(sa.Text, default="{}")
    questionnaire_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    min_group_size: Mapped[int] = mapped_column(default=5)
    copied_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # SHA-256 over the canonical ballots, questionnaire, rule set and session facts, at close.
    seal: Mapped[str | None] = mapped_column(sa.String(64))
    # The team's points in the other parts of the 100 (作风建设 …), entered by the assessors:
    # {part key: exact decimal string}.
    team_parts: Mapped[dict[str, str] | None] = mapped_column(json_document(none_as_null=True))
    # The X25519 public key ballots are sealed to while the session is open (32 bytes, hex).
    # Its private half lives outside the database and is destroyed when the close commits.
    ballot_public_key: Mapped[str | None] = mapped_column(sa.String(64))
    # While CLOSING: the next step of the close still to do (survey/services/closing.py).
    close_step: Mapped[str | None] = mapped_column(sa.String(16))
    # Sign-off by the assessment team (services/signoff.py): when, by whom, whether the team's
    # other parts were declared not applicable, and the signed seal over every printed figure.
    signed_off_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    signed_off_by: Mapped[str | None] = mapped_column(sa.String(200))
    team_parts_waived: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    result_seal: Mapped[str | None] = mapped_column(sa.String(64))
    result_signature: Mapped[str | None] = mapped_column(sa.String(128))
    # How the ballots' ratings are coded (survey/domain/layout.py), stored by the close:
    # {"lines": [[subject id, item], ...], "options": [...]}; byte k of a ballot's ratings is
    # its answer on lines[k], 0 for blank, c for options[c - 1].
    ballot_layout: Mapped[dict | None] = mapped_column(json_document(none_as_null=True))

    owner: Mapped[User] = relationship()
    subjects: Mapped[list["Subject"]] = relationship(
        back_populates="session", order_by="Subject.position", cascade="all, delete-orphan"
    )
    groups: Mapped[list["RaterGroup"]] = relationship(
        back_populates="session", order_by="RaterGroup.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("min_group_size >= 3", name="min_group_size"),
        sa.CheckConstraint("length(title) > 0", name="title_not_empty"),
    )

    @property
    def expected_total(self) -> int:
        return sum(group.expected_count for group in self.groups)

    def frozen_questionnaire(self) -> Questionnaire:
        """Return the questionnaire as stored; raise QuestionnaireError if it does not hold."""
        return from_document(json.loads(self.questionnaire))

    def open_layout(self) -> BallotLayout:
        """The layout a ballot is coded by while the session is open: every line of the frozen
        questionnaire for every subject (fixed while open, as both are)."""
        return BallotLayout.for_questionnaire(
            self.frozen_questionnaire(), ((s.id, s.kind) for s in self.subjects)
        )


class SessionGrant(db.Model):
    """Access to a session for a user who does not own it."""

    __tablename__ = "session_grant"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[GrantLevel] = mapped_column(enum_column(GrantLevel))


class Subject(db.Model):
    """A 测评对象: the team itself or one of its members."""

    __tablename__ = "subject"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "position", name="uq_subject_session_position"),
        sa.CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    post: Mapped[str] = mapped_column(sa.String(200), default="")
    kind: Mapped[SubjectRole] = mapped_column(enum_column(SubjectRole))
    position: Mapped[int]
    # The written 述责述廉 report, readable from the ballot.
    report_text: Mapped[str | None] = mapped_column(sa.Text)
    report_pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary)

    session: Mapped[EvalSession] = relationship(back_populates="subjects")


class RaterGroup(db.Model):
    """A 参评人员类别 with its expected attendance (应到)."""

    __tablename__ = "rater_group"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "name", name="uq_rater_group_session_name"),
        sa.CheckConstraint("expected_count >= 0", name="expected_not_negative"),
        sa.CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    expected_count: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    colour: Mapped[str] = mapped_column(sa.String(7), default="#c0392b")
    # Optional weight as an exact decimal string ("0.3"); empty means unweighted.
    weight: Mapped[str | None] = mapped_column(sa.String(20))

    session: Mapped[EvalSession] = relationship(back_populates="groups")


class BallotCode(db.Model):
    """A 测评码. Stored only as a keyed hash (lookup) and a sealed copy (card reprints).

    Nothing here records who received the code or when it was used.
    """

    __tablename__ = "ballot_code"
    # Room on each page for a row's next version (using the code, clearing it at close): see
    # migration 0011.
    __table_args__ = {"postgresql_with": {"fillfactor": 50}}

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rater_group.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The code encrypted under the instance key, for printing cards; wiped at close.
    code_sealed: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[CodeStatus] = mapped_column(enum_column(CodeStatus), default=CodeStatus.UNUSED)
    # Hash of the random token the ballot form carried: a repeat of that very submission
    # gets the same receipt instead of an error. Random, so it says nothing about the answers.
    submit_token_hash: Mapped[str | None] = mapped_column(sa.String(64))


class Ballot(db.Model):
    """One 测评表 as opened by the close, anonymous: see the module docstring."""

    __tablename__ = "ballot"
    # No hidden rowid in SQLite, whose order would betray the order of voting.
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=random_id)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(sa.ForeignKey("rater_group.id", ondelete="CASCADE"))
    # Filled on paper and keyed in by clerks, or on a phone.
    paper: Mapped[bool] = mapped_column(default=False)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    # One byte per line of the session's ballot_layout: 0 blank, c the c-th option.
    ratings: Mapped[bytes] = mapped_column(sa.LargeBinary)


class SealedBallot(db.Model):
    """A ballot as submitted while the session is open: ciphertext only.

    The content (group, answers, comments, paper or phone) is sealed to the session's public
    key; the private key never enters the database, so neither the file, its WAL nor a backup
    made during voting can read it, and the key is destroyed once the close has opened all
    seals in one shuffled batch.
    """

    __tablename__ = "sealed_ballot"
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=random_id)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    box: Mapped[bytes] = mapped_column(sa.LargeBinary)


class BallotComment(db.Model):
    """A ballot's 意见建议 about one subject (the overall one stays on the ballot row)."""

    __tablename__ = "ballot_comment"
    __table_args__ = {"sqlite_with_rowid": False}

    ballot_id: Mapped[str] = mapped_column(
        sa.ForeignKey("ballot.id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subject.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(sa.Text)


class TallyGroup(db.Model):
    """Ballots received from one rater group, counted by the close while it held them in clear.

    With TallyCount it is the stored tally: the results read these few rows instead of
    decoding every ballot, and `services.results.recount_tally` checks them against the
    stored ballots. No row of either says anything about a single ballot.
    """

    __tablename__ = "tally_group"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rater_group.id", ondelete="CASCADE"), primary_key=True
    )
    received: Mapped[int] = mapped_column(default=0)
    # Ballots that rate nothing (弃权 forms).
    blank: Mapped[int] = mapped_column(default=0)


class TallyCount(db.Model):
    """How many ballots of one rater group chose one option on one line (subject, item)."""

    __tablename__ = "tally_count"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("rater_group.id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subject.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    count: Mapped[int]


class AuditEntry(db.Model):
    """Who did what to which session, and when: organizer and assessor actions only."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[str] = mapped_column(sa.Text, default="")

    user: Mapped[User | None] = relationship()


class PaperEntry(db.Model):
    """One clerk's keying of one paper 测评表, kept only until a second clerk agrees.

    It necessarily pairs a code with answers, so the answers are sealed to the session key
    like a ballot, and compared through a digest keyed by a secret kept with that key (both
    destroyed at close). The entries go the moment the two agree and the sealed ballot is stored.
    """

    __tablename__ = "paper_entry"
    __table_args__ = (
        sa.UniqueConstraint("code_hash", "clerk_id", name="uq_paper_entry_code_clerk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    clerk_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    # The checked submission as canonical JSON, sealed to the session key (base64).
    answers: Mapped[str] = mapped_column(sa.Text)
    # HMAC of that canonical JSON under the session's entry key: equal digests, equal entries.
    digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    clerk: Mapped[User] = relationship()


class FailedAttempt(db.Model):
    """Failed ballot-code attempts per client bucket and minute, shared by every worker."""

    __tablename__ = "failed_attempt"

    bucket: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    minute: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0)


class LoginFailure(db.Model):
    """Failed logins per keyed bucket (one account, or one client network) and minute."""

    __tablename__ = "login_failure"

    bucket: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    minute: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(default=0)


# ---- 考核年度, 质询, 整改 (issue 8) ---------------------------------------------------------


class Season(db.Model):
    """A 考核年度: the evaluation sessions of many units, scored by one versioned checklist."""

    __tablename__ = "season"
    __table_args__ = (sa.CheckConstraint("length(name) > 0", name="name_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    year: Mapped[int]
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    checklist_key: Mapped[str] = mapped_column(sa.String(64))
    checklist_version: Mapped[str] = mapped_column(sa.String(32))
    # Holidays and 调休 working days, one ISO date a line (survey/domain/workdays.py).
    holidays: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # When the checklist points were last written into the units' sessions, and the SHA-256
    # of the checklist file they were computed with.
    computed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    checklist_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    owner: Mapped[User] = relationship()
    units: Mapped[list["SeasonUnit"]] = relationship(
        back_populates="season", order_by="SeasonUnit.position", cascade="all, delete-orphan"
    )


class SeasonGrant(db.Model):
    """Access to a season for a user who does not own it (organize: edit; assess: facts)."""

    __tablename__ = "season_grant"

    season_id: Mapped[int] = mapped_column(
        sa.ForeignKey("season.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[GrantLevel] = mapped_column(enum_column(GrantLevel))

    user: Mapped[User] = relationship()


class SeasonUnit(db.Model):
    """One assessed unit (e.g. a county's party and government team) of a season."""

    __tablename__ = "season_unit"
    __table_args__ = (
        sa.UniqueConstraint("season_id", "name", name="uq_season_unit_season_name"),
        sa.CheckConstraint("length(name) > 0", name="name_not_empty"),
        sa.CheckConstraint("population IS NULL OR population > 0", name="population_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season_id: Mapped[int] = mapped_column(
        sa.ForeignKey("season.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)
    # People living in the unit's area, for the per-10,000 items (人均信访量 …).
    population: Mapped[int | None]
    # The unit's 汇报测评 session, whose team subject gives the 民主测评 points.
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="SET NULL"), index=True
    )
    # The checklist result last written into the session: the checklist's id,
    # version and SHA-256, each part's points and the line-by-line explanation.
    result: Mapped[dict | None] = mapped_column(json_document(none_as_null=True))

    season: Mapped[Season] = relationship(back_populates="units")
    session: Mapped[EvalSession | None] = relationship()
    facts: Mapped["UnitFacts | None"] = relationship(
        back_populates="unit", cascade="all, delete-orphan", uselist=False
    )


class UnitFacts(db.Model):
    """The facts the assessors entered for a unit (counts, yes/no, numbers), never points."""

    __tablename__ = "unit_facts"

    unit_id: Mapped[int] = mapped_column(
        sa.ForeignKey("season_unit.id", ondelete="CASCADE"), primary_key=True
    )
    # {fact key: canonical string}; a fact not entered yet is absent.
    facts: Mapped[dict[str, str]] = mapped_column(json_document(), default=dict)
    entered_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    entered_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    unit: Mapped[SeasonUnit] = relationship(back_populates="facts")
    entered_by: Mapped[User | None] = relationship()


class InquiryQuota(db.Model):
    """How many 质询 one ballot code has sent; keyed by a hash of the code, nothing else.

    It holds no question, no link to one and no time. The key is an HMAC of the code under a
    purpose of its own, so this table cannot be joined to ballot_code without the instance key.
    """

    __tablename__ = "inquiry_quota"

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    count: Mapped[int] = mapped_column(default=0)


class AnswerMode(Labelled):
    PENDING = "pending", "待答复"
    ON_SITE = "on_site", "已当场答复"
    WRITTEN = "written", "会后书面答复"


class Inquiry(db.Model):
    """A 质询 put to a subject at a 述责述廉 meeting: no code, no asker, no time, only a date."""

    __tablename__ = "inquiry"
    # Random id and no hidden rowid: nothing here follows the order questions came in.
    __table_args__ = {"sqlite_with_rowid": False}

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=random_id)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subject.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(sa.Text)
    asked_on: Mapped[date] = mapped_column(sa.Date)
    on_screen: Mapped[bool] = mapped_column(default=False)
    mode: Mapped[AnswerMode] = mapped_column(enum_column(AnswerMode), default=AnswerMode.PENDING)
    # For a written answer: due 7 working days after the meeting (survey/domain/workdays.py).
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_on: Mapped[date | None] = mapped_column(sa.Date)

    subject: Mapped[Subject] = relationship()


class RectificationItem(db.Model):
    """A 整改 item from a subject's feedback, with its deadline and the subject's report."""

    __tablename__ = "rectification_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("eval_session.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subject.id", ondelete="CASCADE"), index=True
    )
    issue: Mapped[str] = mapped_column(sa.Text)
    due_on: Mapped[date] = mapped_column(sa.Date)
    report: Mapped[str | None] = mapped_column(sa.Text)
    reported_on: Mapped[date | None] = mapped_column(sa.Date)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    subject: Mapped[Subject] = relationship()
    session: Mapped[EvalSession] = relationship()
