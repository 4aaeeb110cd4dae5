"""The program page's "Sharing a full mentor" setting (issue 12): shown, changed by the
program's coordinators only, with CSRF."""
from __future__ import annotations

import re

from tests.support.web import sign_in_as


def _sharing(container, program_id: str) -> str:
    with container.uow() as uow:
        return uow.programs.get(program_id).sharing


def _checked(html: str) -> list[str]:
    return re.findall(r'name="sharing" value="([a-z_]+)" checked', html)


def test_the_coordinator_sees_the_choice_and_switches_to_first_come(client, seeded, container):
    token = sign_in_as(client, seeded.coordinator_id)
    page = client.get(f"/programs/{seeded.program_id}").get_data(as_text=True)
    assert 'id="sharing"' in page and _checked(page) == ["fair"]
    assert "Take turns (fair)" in re.search(r'<p id="sharing-current">(.*?)</p>', page, re.S).group(1)

    reply = client.post(f"/programs/{seeded.program_id}/sharing", data={"csrf_token": token, "sharing": "first_come"},
                        follow_redirects=True)

    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "now shared: first come, first served" in html
    assert _checked(html) == ["first_come"] and _sharing(container, seeded.program_id) == "first_come"


def test_an_unknown_choice_is_refused_with_a_message_and_nothing_changes(client, seeded, container):
    token = sign_in_as(client, seeded.coordinator_id)
    reply = client.post(f"/programs/{seeded.program_id}/sharing", data={"csrf_token": token, "sharing": "lottery"},
                        follow_redirects=True)
    assert "is not a choice; pick" in reply.get_data(as_text=True)
    assert _sharing(container, seeded.program_id) == "fair"


def test_the_setting_needs_csrf_and_the_programs_coordinator(client, seeded, container):
    sign_in_as(client, seeded.coordinator_id)
    assert client.post(f"/programs/{seeded.program_id}/sharing", data={"sharing": "first_come"}).status_code in (400, 403)
    token = sign_in_as(client, seeded.coordinator_id)  # coordinates one program, not the other
    assert client.post(f"/programs/{seeded.other_program_id}/sharing",
                       data={"csrf_token": token, "sharing": "first_come"}).status_code == 403
    token = sign_in_as(client, seeded.mentor_id)
    assert client.post(f"/programs/{seeded.program_id}/sharing",
                       data={"csrf_token": token, "sharing": "first_come"}).status_code == 403
    assert _sharing(container, seeded.program_id) == _sharing(container, seeded.other_program_id) == "fair"


def test_an_admin_may_change_any_program(client, seeded, container):
    token = sign_in_as(client, seeded.admin_id)
    reply = client.post(f"/programs/{seeded.other_program_id}/sharing", data={"csrf_token": token, "sharing": "first_come"})
    assert reply.status_code == 302 and _sharing(container, seeded.other_program_id) == "first_come"
