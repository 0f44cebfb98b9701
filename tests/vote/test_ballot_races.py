"""Many phones at once: one code gives one ballot, whatever arrives together."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from survey.models import CodeStatus
from tests.vote.conftest import ballot_form, code_statuses, count_ballots, full_answers

PHONES = 50


def post_together(app, requests):
    """POST every (form) at the same moment, each from its own client; return the statuses."""
    barrier = Barrier(len(requests))

    def send(form):
        client = app.test_client()
        barrier.wait()
        return client.post("/v/submit", data=form).status_code

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def test_fifty_simultaneous_submits_of_one_form_give_one_ballot(app, client, open_session):
    fields, page = ballot_form(client, open_session.codes[0])
    form = {**fields, **full_answers(page)}
    statuses = post_together(app, [form] * PHONES)
    # The same submission repeated: every phone gets the receipt, one ballot is stored.
    assert statuses == [303] * PHONES
    assert count_ballots(open_session.session.id) == 1
    assert code_statuses(open_session.session.id)[CodeStatus.USED] == 1


def test_fifty_different_forms_with_one_code_give_one_ballot(app, client, open_session):
    forms = []
    for _ in range(PHONES):  # the code typed on fifty phones, each with its own form
        fields, page = ballot_form(client, open_session.codes[0])
        forms.append({**fields, **full_answers(page)})
    statuses = post_together(app, forms)
    assert statuses.count(303) == 1
    assert statuses.count(409) == PHONES - 1
    assert count_ballots(open_session.session.id) == 1


def test_fifty_phones_with_their_own_codes_all_count(app, client, open_session):
    forms = []
    for code in open_session.codes[:PHONES]:
        fields, page = ballot_form(client, code)
        forms.append({**fields, **full_answers(page, "average")})
    statuses = post_together(app, forms)
    assert statuses == [303] * PHONES
    assert count_ballots(open_session.session.id) == PHONES
    assert code_statuses(open_session.session.id)[CodeStatus.USED] == PHONES
