"""Sign-in cannot be turned against the person: no open redirect after sign-in, no login CSRF
through someone else's invitation link (defects found in review, first committed as strict
xfails)."""
from tests.support.web import sign_in_as


def test_sign_in_next_cannot_leave_the_site_with_a_tab(client, seeded):
    sign_in_as(client, seeded.mentee_id)
    response = client.get("/signin?next=/%09/evil.example/")
    assert response.status_code == 302
    location = response.headers["Location"]
    browser_sees = location.replace("\t", "").replace("\n", "").replace("\r", "")
    assert not browser_sees.startswith("//"), f"redirects off-site to {location!r}"


def test_someone_elses_invitation_does_not_replace_the_signed_in_person(app, client, seeded):
    from adapters.links import signer_for

    sign_in_as(client, seeded.mentor_id)
    # A participant who has not set up yet sends their own invitation link to their mentor.
    token = signer_for(app.extensions["tandem"].settings).sign(
        "invite", {"p": seeded.other_mentee_id, "pair": seeded.other_pair_id})
    client.get(f"/invite/{token}")
    with client.session_transaction() as session:
        assert session.get("pid") == seeded.mentor_id, \
            "the mentor's browser is now signed in as the other person; a calendar they connect goes to that account"
