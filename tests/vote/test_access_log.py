"""gunicorn's access log, as served: a voter's request leaves no address, browser or minute."""

import http.client
import re
import time

from tests.reliability.test_sigkill import server  # noqa: F401 (the fixture)

UA = "ForensicPhone/1.0 MicroMessenger"


def get(server, path: str) -> int:  # noqa: F811
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(
            "GET",
            path,
            headers={"User-Agent": UA, "Referer": f"http://vote.example.test{path}"},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_voter_requests_are_logged_without_address_agent_or_minute(server, open_session):  # noqa: F811
    code = open_session.codes[0]
    server.start()
    assert get(server, f"/v/{code}") == 200
    assert get(server, "/q") in (200, 302)
    assert get(server, "/login") == 200
    deadline = time.monotonic() + 10
    while "/login" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [line for line in server.log().splitlines() if '"GET /' in line]
    voter = [line for line in lines if '"GET /v/' in line or '"GET /q ' in line]
    staff = [line for line in lines if '"GET /login ' in line]
    assert len(voter) == 2 and len(staff) == 1, lines
    for line in voter:
        assert code not in line and "/v/[code]" in line or "/q " in line
        assert "127.0.0.1" not in line and "ForensicPhone" not in line, line
        assert "vote.example.test" not in line, line  # no Referer either
        assert re.search(r"\[\d\d/\w{3}/\d{4}:\d\d:00:00 [+-]\d{4}\]", line), line
    # Organizer pages keep the usual line: address, browser and time to the second.
    assert "127.0.0.1" in staff[0] and "ForensicPhone" in staff[0]
