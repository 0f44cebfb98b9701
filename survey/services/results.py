"""Results of a closed session: the tally, the scores, the seal and the exported archive.

Reports (survey/reports) take a SessionResults and never query on their own.
"""

import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction

import sqlalchemy as sa

from survey.domain.errors import ScoreInputError
from survey.domain.evaluation import Evaluation, StoredBallot, SubjectResult, evaluate_tally
from survey.domain.layout import BallotLayout, RatingCounter
from survey.domain.numbers import format_decimal, format_percent, parse_decimal
from survey.domain.quorum import ValidityCheck, check_validity
from survey.domain.roles import SubjectRole
from survey.domain.rulesets import RuleSet
from survey.domain.scoring import TeamTotal, combined_score, team_total
from survey.domain.seal import SEAL_FORMAT, sealed_document
from survey.domain.tally import GroupSpec, SubjectSpec, Tally, merge_hidden_groups, tally_counts
from survey.extensions import db, session_driver_connection
from survey.models import (
    Ballot,
    BallotCode,
    BallotComment,
    EvalSession,
    SessionState,
    TallyCount,
    TallyGroup,
    User,
)
from survey.services import ServiceError
from survey.services.anonymity import OpenedBatch
from survey.services.audit import record
from survey.services.rulesets import ruleset_for

__all__ = ["SessionResults", "StoredBallot", "SubjectResult", "compute_results"]


@dataclass
class SessionResults(Evaluation):
    """A session's evaluation together with the session, its ballots and its seal.

    The tally is counted by the database (GROUP BY); the ballots themselves are read only
    when a report asks for them (the raw-ballot sheet, the archive), by `iter_ballots` in
    chunks or by `ballots` all at once.
    """

    session: EvalSession
    seal: str | None
    # The instance signing key's fingerprint, printed on every report (services/signing.py).
    key_fingerprint: str = ""
    generated_at: datetime | None = None  # when the reports built from these results are made
    _ballots: list[StoredBallot] | None = field(default=None, repr=False)
    _blank: int | None = field(default=None, repr=False)

    @property
    def result_seal(self) -> str | None:
        """The seal over every printed figure, once the assessment team has signed off."""
        return self.session.result_seal

    @property
    def ballots(self) -> list[StoredBallot]:
        """Every ballot, in random order (read on first use)."""
        if self._ballots is None:
            self._ballots = stored_ballots(self.session)
        return self._ballots

    def iter_ballots(self) -> Iterator[StoredBallot]:
        """Every ballot, a chunk at a time: memory stays flat however many there are."""
        if self._ballots is not None:
            return iter(self._ballots)
        return stream_ballots(self.session)

    @property
    def blank_ballots(self) -> int:
        """Ballots that rate nothing (弃权 forms): stored by the close, else counted."""
        if self._blank is None:
            self._blank = count_blank(self.session)
        return self._blank

    @property
    def received(self) -> int:
        return self.tally.received

    @property
    def expected(self) -> int:
        return self.tally.expected

    @property
    def validity(self) -> ValidityCheck:
        """Quorum and 收回 ≤ 发出, checked on what the session holds (see validity_of)."""
        return validity_of(self.session, self.tally.received_by_group)

    @property
    def participation_text(self) -> str:
        rate = self.tally.participation()
        return "—" if rate is None else f"{format_percent(rate)}（{self.received}/{self.expected}）"


def validity_of(session: EvalSession, returned: dict[str, int]) -> ValidityCheck:
    """Check quorum (实到 > 应到 ÷ 2) and, per rater group, 收回 ≤ 发出 (codes handed out).

    A separate function so that closing a session can call it too.
    """
    names = {g.id: g.name for g in session.groups}
    issued = dict.fromkeys(names.values(), 0)
    for group_id, count in db.session.execute(
        sa.select(BallotCode.group_id, sa.func.count())
        .where(BallotCode.session_id == session.id)
        .group_by(BallotCode.group_id)
    ):
        issued[names[group_id]] = count
    expected = sum(g.expected_count for g in session.groups)
    return check_validity(expected, sum(returned.values()), issued, returned)


def stored_ballots(session: EvalSession) -> list[StoredBallot]:
    """Read every ballot of the session with its ratings and comments, in random order."""
    found = list(stream_ballots(session))
    secrets.SystemRandom().shuffle(found)
    return found


STREAM_CHUNK = 2000


def _layout(session: EvalSession) -> BallotLayout:
    """How the session's stored ratings are coded (stored by the close)."""
    return BallotLayout.from_document(session.ballot_layout)


def _ballot_chunks(session: EvalSession, columns: str) -> Iterator[list[tuple]]:
    """The session's ballot rows (id first, then `columns`), STREAM_CHUNK at a time by id.

    Through the driver's own cursor, one range of the ballot table's key at a time: memory
    stays flat however many ballots there are, and 100,000 rows as SQLAlchemy rows would
    cost more than reading them.
    """
    mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"SELECT id, {columns} FROM ballot"  # noqa: S608 (fixed column names, no input)
        " WHERE session_id = ? AND id > ? ORDER BY id LIMIT ?"
    ).replace("?", mark)
    cursor = session_driver_connection().cursor()
    after = ""
    try:
        while True:
            cursor.execute(sql, (session.id, after, STREAM_CHUNK))
            chunk = cursor.fetchall()
            if not chunk:
                return
            yield chunk
            after = chunk[-1][0]
    finally:
        cursor.close()


def stream_ballots(session: EvalSession) -> Iterator[StoredBallot]:
    """Yield every ballot with its ratings and comments, ordered by its random id.

    The close rewrote the ballots under fresh random ids, so this order is a random
    permutation that says nothing about when anyone voted. A chunk of ballots at a time, with
    their comments as one range of the comment table's key.
    """
    groups = {g.id: g.name for g in session.groups}
    layout = _layout(session)
    mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    comments_sql = (
        "SELECT c.ballot_id, c.subject_id, c.text FROM ballot_comment c"
        " JOIN ballot b ON b.id = c.ballot_id"
        " WHERE b.session_id = ? AND c.ballot_id >= ? AND c.ballot_id <= ?"
    ).replace("?", mark)
    cursor = session_driver_connection().cursor()
    try:
        for chunk in _ballot_chunks(session, "group_id, comment, ratings"):
            ballots = {
                ballot_id: StoredBallot(
                    groups[group_id],
                    ratings=layout.decode(bytes(ratings)),
                    overall_comment=comment or "",
                )
                for ballot_id, group_id, comment, ratings in chunk
            }
            cursor.execute(comments_sql, (session.id, chunk[0][0], chunk[-1][0]))
            for ballot_id, subject_id, text in cursor.fetchall():
                ballots[ballot_id].comments[subject_id] = text
            yield from ballots.values()
    finally:
        cursor.close()


def count_tally(session: EvalSession, questionnaire, subjects, groups) -> Tally:
    """The session's tally: the one the close stored, or (closed before it stored one)
    counted from the answers with GROUP BY."""
    stored = stored_counts(session)
    if stored is None:
        return recount_tally(session, questionnaire, subjects, groups)
    received, answers = stored
    return tally_counts(questionnaire, subjects, groups, received, answers)


def recount_tally(session: EvalSession, questionnaire, subjects, groups) -> Tally:
    """Count the session's stored ballots: their ratings, a chunk at a time."""
    counted = _count_ballots(session)
    return tally_counts(questionnaire, subjects, groups, counted.received, counted.counts())


def _count_ballots(session: EvalSession) -> RatingCounter:
    """Every stored ballot counted per rater group (by name) and line, blank ones too."""
    names = {g.id: g.name for g in session.groups}
    counter = RatingCounter(_layout(session))
    for chunk in _ballot_chunks(session, "group_id, ratings"):
        counter.add_rows((names[group_id], bytes(ratings)) for _id, group_id, ratings in chunk)
    return counter


def stored_counts(session: EvalSession) -> tuple[dict[str, int], list[tuple]] | None:
    """The counts the close stored: (received per group, (group, subject, item, option, n)
    rows), or None for a session closed before the close stored them."""
    names = {g.id: g.name for g in session.groups}
    received = {
        names[group_id]: n
        for group_id, n in db.session.execute(
            sa.select(TallyGroup.group_id, TallyGroup.received).where(
                TallyGroup.session_id == session.id
            )
        )
    }
    if not received:
        return None
    answers = [
        (names[group_id], subject_id, item, value, n)
        for group_id, subject_id, item, value, n in db.session.execute(
            sa.select(
                TallyCount.group_id,
                TallyCount.subject_id,
                TallyCount.item,
                TallyCount.value,
                TallyCount.count,
            ).where(TallyCount.session_id == session.id)
        )
    ]
    return received, answers


def stored_tally_holds(session: EvalSession) -> bool:
    """Tell whether the stored tally (if any) is what the stored ballots count to."""
    stored = stored_counts(session)
    if stored is None:
        return True
    questionnaire = session.frozen_questionnaire()
    subjects, groups = _specs(session)
    counted = _count_ballots(session)
    recount = tally_counts(questionnaire, subjects, groups, counted.received, counted.counts())
    received, answers = stored
    kept = tally_counts(questionnaire, subjects, groups, received, answers)
    stored_blank = db.session.scalar(
        sa.select(sa.func.sum(TallyGroup.blank)).where(TallyGroup.session_id == session.id)
    )
    return (
        kept.received_by_group == recount.received_by_group
        and kept.counts == recount.counts
        and int(stored_blank or 0) == sum(counted.blank.values())
    )


def store_tally(session: EvalSession, batch: OpenedBatch) -> None:
    """Store the counts of the opened batch, inside the close's transaction.

    The close holds every ballot in clear anyway; counting them there once saves the results
    from decoding every ballot on every view (stored_tally_holds checks them).
    """
    db.session.execute(sa.delete(TallyCount).where(TallyCount.session_id == session.id))
    db.session.execute(sa.delete(TallyGroup).where(TallyGroup.session_id == session.id))
    counter = RatingCounter(batch.layout())
    for group in session.groups:  # every group gets its row, 0 received included
        counter.add(group.id, [])
    counter.add_rows((group_id, values) for group_id, _p, _c, values, _s in batch.ballots)
    groups = [
        {
            "session_id": session.id,
            "group_id": group_id,
            "received": received,
            "blank": counter.blank[group_id],
        }
        for group_id, received in counter.received.items()
    ]
    counts = [
        {
            "session_id": session.id,
            "group_id": group_id,
            "subject_id": subject_id,
            "item": item,
            "value": value,
            "count": n,
        }
        for group_id, subject_id, item, value, n in counter.counts()
    ]
    if groups:
        db.session.execute(sa.insert(TallyGroup), groups)
    if counts:
        db.session.execute(sa.insert(TallyCount), counts)


def count_blank(session: EvalSession) -> int:
    """Ballots that rate nothing, as the close stored them or counted from the ballots."""
    stored = db.session.execute(
        sa.select(sa.func.count(), sa.func.sum(TallyGroup.blank)).where(
            TallyGroup.session_id == session.id
        )
    ).one()
    if stored[0]:
        return int(stored[1] or 0)
    return _count_blank_in_ballots(session)


def _count_blank_in_ballots(session: EvalSession) -> int:
    # A blank ballot's ratings are all zero bytes: one comparison in the database.
    return int(
        db.session.scalar(
            sa.select(sa.func.count()).where(
                Ballot.session_id == session.id, Ballot.ratings == _layout(session).blank
            )
        )
    )


def session_comments(session: EvalSession) -> tuple[dict[int, list[str]], list[str]]:
    """The comments per subject and the overall ones (the reports sort them)."""
    per_subject: dict[int, list[str]] = {}
    comments = db.session.execute(
        sa.select(BallotComment.subject_id, BallotComment.text)
        .join(Ballot, Ballot.id == BallotComment.ballot_id)
        .where(Ballot.session_id == session.id)
    )
    for subject_id, text in comments:
        per_subject.setdefault(subject_id, []).append(text)
    overall = db.session.scalars(
        sa.select(Ballot.comment).where(
            Ballot.session_id == session.id, Ballot.comment.is_not(None), Ballot.comment != ""
        )
    ).all()
    return per_subject, list(overall)


def session_facts(session: EvalSession) -> dict:
    """Return the facts the seal covers: who was rated, by whom, in which meeting."""
    return {
        "id": session.id,
        "title": session.title,
        "unit": session.unit,
        "meeting_date": session.meeting_date.isoformat() if session.meeting_date else None,
        "meeting_type": session.meeting_type.value,
        "subjects": [
            {
                "id": s.id,
                "name": s.name,
                "post": s.post,
                "role": s.kind.value,
                "position": s.position,
            }
            for s in session.subjects
        ],
        # A weight only when set, so that the seal of an unweighted session is unchanged.
        "groups": [
            {
                "name": g.name,
                "expected": g.expected_count,
                **({"weight": g.weight} if g.weight else {}),
            }
            for g in session.groups
        ],
        "min_group_size": session.min_group_size,
    }


def ruleset_facts(ruleset: RuleSet) -> dict:
    return {
        "id": ruleset.id,
        "version": ruleset.version,
        "name": ruleset.name,
        "sha256": ruleset.sha256,
        "content": ruleset.content.decode("utf-8"),
    }


def _seal_parts(
    session: EvalSession, received: Mapping[str, int], merge: bool
) -> tuple[dict, dict, dict, dict[str, str]]:
    """What the seal covers besides the ballots: the facts, the questionnaire and the rule
    set, and the label each group's ballots carry (merged when the group is hidden)."""
    ruleset = ruleset_for(session.rule_set_key, session.rule_set_version)
    facts = session_facts(session)
    labels = {g["name"]: g["name"] for g in facts["groups"]}
    # Weighed groups (by the rule set or the session) must keep their names for the recount.
    weighed = ruleset.rater_group_weights or any(g.get("weight") for g in facts["groups"])
    if merge and not weighed:
        specs = [GroupSpec(g["name"], g["expected"]) for g in facts["groups"]]
        merged, labels = merge_hidden_groups(
            specs, Counter(received).elements(), session.min_group_size
        )
        facts["groups"] = [{"name": g.name, "expected": g.expected} for g in merged]
    return facts, json.loads(session.questionnaire), ruleset_facts(ruleset), labels


def seal_document(
    session: EvalSession, ballots: list[StoredBallot] | None = None, *, merge: bool = True
) -> dict:
    """The document the seal covers, and that the archive exports.

    It lists ballots one by one, so it follows the small-group rule of the results page: a
    hidden group's ballots carry the merged label, and the hidden groups are one merged group
    in the facts. (Unless the rule set or the session weighs rater groups by name: the
    recount needs them. merge=False gives the document as sealed before this rule, for older
    archives.)
    """
    ballots = stored_ballots(session) if ballots is None else ballots
    facts, questionnaire, ruleset, labels = _seal_parts(
        session, Counter(b.group for b in ballots), merge
    )
    canonical = [b.canonical() for b in ballots]
    for ballot in canonical:
        ballot["group"] = labels.get(ballot["group"], ballot["group"])
    return sealed_document(facts, questionnaire, ruleset, canonical)


def _dumps(value) -> str:
    # As survey.domain.seal serialises (tests/services/test_results_seal.py holds them equal).
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def seal_session(
    session: EvalSession, ballots: "list[StoredBallot] | BatchSeal | None" = None
) -> str:
    """Compute and set the seal; called by the close inside its transaction.

    `ballots` are the session's ballots when the caller has them in memory: the close's
    opened batch (as a BatchSeal), or StoredBallots. The result equals
    seal_of(seal_document(session)), but is hashed from each ballot's canonical text: the
    document of 100,000 ballots as nested lists and dicts would take gigabytes.
    """
    if isinstance(ballots, BatchSeal):
        ballot_texts, (facts, questionnaire, ruleset) = ballots.texts(), ballots.parts
    else:
        document = seal_document(session, ballots)
        ballot_texts = [_dumps(ballot).encode() for ballot in document["ballots"]]
        facts, questionnaire = document["session"], document["questionnaire"]
        ruleset = document["ruleset"]
    ballot_texts.sort()  # UTF-8 bytes sort as their text does, code point by code point
    digest = hashlib.sha256(b'{"ballots":[')
    for number, text in enumerate(ballot_texts):  # not joined: 65 MB more at 100,000
        if number:
            digest.update(b",")
        digest.update(text)
    digest.update(
        (
            f'],"format":{_dumps(SEAL_FORMAT)},"questionnaire":{_dumps(questionnaire)},'
            f'"ruleset":{_dumps(ruleset)},"session":{_dumps(facts)}}}'
        ).encode()
    )
    session.seal = digest.hexdigest()
    return session.seal


class BatchSeal:
    """What the seal needs of the close's opened batch: each ballot's canonical text
    (survey.domain.seal.canonical_ballot), built in a thread of its own.

    Made once the batch is complete and shuffled, before it is written: the texts are pure
    Python over the batch, which nothing changes any more, while writing it is mostly the
    database's work (100,000 ballots: about 1 s of texts beside 1–3 s of inserts). The parts
    that read the session (facts, questionnaire, rule set, group labels) are read here, in
    the caller's thread; the thread touches neither the session nor the database.
    """

    def __init__(self, session: EvalSession, batch: OpenedBatch):
        names = {g.id: g.name for g in session.groups}
        received = Counter(names[ballot[0]] for ballot in batch.ballots)
        facts, questionnaire, ruleset, labels = _seal_parts(session, received, merge=True)
        self.parts = facts, questionnaire, ruleset
        group_text = {
            group_id: _dumps(labels.get(name, name)).encode() for group_id, name in names.items()
        }
        pool = ThreadPoolExecutor(1, thread_name_prefix="seal-texts")
        self._texts = pool.submit(_batch_texts, batch, group_text)
        pool.shutdown(wait=False)  # the thread ends with its one task; texts() waits for it

    def texts(self) -> list[bytes]:
        """The texts, once the thread has built them (its error, if it failed)."""
        return self._texts.result()


def _batch_texts(batch: OpenedBatch, group_text: dict[int, bytes]) -> list[bytes]:
    """Each opened ballot's canonical text, built from pieces serialised once per group,
    line and option.

    A ballot's ratings are its values looked up, line by line, in a table of each line's
    pieces (b"" for a blank line, dropped by the filter): `map` and `join` do that in C, at
    100,000 ballots × 30 lines.
    """
    order = sorted(range(batch.width), key=batch.lines.__getitem__)  # the canonical order
    tables = [
        [b""] + [_dumps([*batch.lines[slot], option]).encode() for option in batch.options]
        for slot in order
    ]
    reordered = order != list(range(batch.width))  # lines added by add_stored, at the end
    pick, no_text = list.__getitem__, _dumps("").encode()
    texts = []
    for group_id, _paper, overall, values, comments in batch.ballots:
        if reordered:
            values = [values[slot] for slot in order]
        ratings = b",".join(filter(None, map(pick, tables, values)))
        said = b",".join([_dumps([s, t]).encode() for s, t in comments]) if comments else b""
        texts.append(
            b'{"comments":[%b],"group":%b,"overall_comment":%b,"ratings":[%b]}'
            % (
                said,
                group_text[group_id],
                _dumps(overall).encode() if overall else no_text,
                ratings,
            )
        )
    return texts


def _specs(session: EvalSession) -> tuple[list[SubjectSpec], list[GroupSpec]]:
    subjects = [SubjectSpec(s.id, s.name, s.post, SubjectRole(s.kind)) for s in session.subjects]
    groups = [
        GroupSpec(g.name, g.expected_count, parse_decimal(g.weight) if g.weight else None)
        for g in session.groups
    ]
    return subjects, groups


def team_parts_of(session: EvalSession) -> dict[str, Fraction]:
    raw = session.team_parts or {}
    return {key: parse_decimal(value) for key, value in raw.items()}


def compute_results(session: EvalSession) -> SessionResults:
    """Tally and score a session from its stored ballots, counted by the database."""
    subjects, groups = _specs(session)
    tally = count_tally(session, session.frozen_questionnaire(), subjects, groups)
    comments, overall = session_comments(session)
    evaluation = evaluate_tally(
        ruleset_for(session.rule_set_key, session.rule_set_version),
        tally,
        comments,
        overall,
        session.min_group_size,
        team_parts_of(session),
    )
    from survey.services.signing import instance_fingerprint

    return SessionResults(
        session=session,
        seal=session.seal,
        key_fingerprint=instance_fingerprint(),
        generated_at=datetime.now(UTC),
        **vars(evaluation),
    )


def set_team_parts(session: EvalSession, values: dict[str, str], actor: User) -> TeamTotal | None:
    """Record the assessors' points for the team's other parts (作风建设 …), capped by the rules."""
    ruleset = ruleset_for(session.rule_set_key, session.rule_set_version)
    if not ruleset.entered_parts:
        raise ServiceError("该测评使用的规则集没有由考核组录入的部分。")
    if session.signed_off_at is not None:
        raise ServiceError("测评结果已由考核组签发，其他考核部分得分不能再修改。")
    parsed = {}
    for part in ruleset.entered_parts:
        raw = (values.get(part.key) or "").strip()
        try:
            parsed[part.key] = parse_decimal(raw)
        except ValueError:
            raise ServiceError(f"“{part.name}”的得分“{raw}”不是有效的数字。") from None
    checked = None
    try:
        if ruleset.team_parts is not None:
            checked = team_total(ruleset, Fraction(0), parsed)
        else:
            # Seed 003's 组织考评: a 百分制 score, refused (not capped) outside 0–100.
            combined_score(ruleset, None, parsed)
    except ScoreInputError as error:
        raise ServiceError(str(error)) from None
    stored = {key: format_decimal(value) for key, value in parsed.items()}
    session.team_parts = stored
    record(actor, "set_team_parts", session.id, json.dumps(stored, ensure_ascii=False))
    db.session.flush()
    return checked


def require_closed(session: EvalSession) -> None:
    if session.state != SessionState.CLOSED:
        raise ServiceError("测评结束后才能查看和下载结果：进行中只显示已提交的份数。")
