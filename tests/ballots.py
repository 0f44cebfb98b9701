"""Stored ballots for tests: read a closed ballot's ratings, or add ballots as a phone would."""

from collections.abc import Iterable

from survey.domain.layout import BallotLayout
from survey.extensions import db
from survey.models import Ballot, EvalSession
from survey.services.ballots import Submission, ensure_public_key, store_sealed


def ratings_of(ballot: Ballot) -> dict[tuple[int, str], str]:
    """A closed ballot's ratings {(subject id, item): option}, decoded by its session's layout."""
    session = db.session.get(EvalSession, ballot.session_id)
    return BallotLayout.from_document(session.ballot_layout).decode(ballot.ratings)


def add_sealed(
    session: EvalSession,
    ballots: Iterable[dict[tuple[int, str], str] | Submission],
    group: int = 0,
) -> None:
    """Store ballots (Submissions, or ratings alone) sealed to the open session's key, as a
    submit does, but without using up codes: fast enough for a few thousand."""
    public_key = ensure_public_key(session.id)
    group_id = session.groups[group].id
    for ballot in ballots:
        submission = (
            ballot
            if isinstance(ballot, Submission)
            else Submission(session.open_layout(), ratings=ballot)
        )
        store_sealed(session.id, public_key, group_id, submission, paper=False)
    db.session.commit()


def first_options(session: EvalSession) -> dict[tuple[int, str], str]:
    """A valid ballot for the session: every line of its questionnaire rated the first option."""
    questionnaire = session.frozen_questionnaire()
    option = sorted(questionnaire.option_keys())[0]
    return {
        (subject.id, item.key): option
        for subject in session.subjects
        for item in questionnaire.items_for(subject.kind)
    }
