"""``tandem api-token create`` as a person runs it (docs/contracts.md §3), and the issue's
Done-when line on a seeded sandbox: the token alone on the last line of stdout, then the missed
report as CSV through the API equals the web report's CSV, row for row."""
from __future__ import annotations

import csv
import io

import pytest

from config.bootstrap import bootstrap
from config.settings import load_settings
from scheduler.services import api as service
from tests.integration.test_health_and_cli import _tandem
from tests.integration.test_sandbox_cli import _installation
from tests.support.web import sign_in_as


def test_the_done_when_line_on_a_seeded_sandbox(tmp_path):
    env = _installation(tmp_path, demo=True)
    out = _tandem("sandbox", "seed", "--pairs", "6", "--weeks", "4", "--seed", "3", env=env)
    assert out.returncode == 0, out.stderr
    program_id = out.stdout.strip().splitlines()[-1]

    out = _tandem("api-token", "create", "--program", program_id, "--name", "t", env=env)
    assert out.returncode == 0, out.stderr
    token = out.stdout.splitlines()[-1]
    assert token.startswith("tdm_") and token == out.stdout.strip()  # the token alone on stdout
    assert "shown once" in out.stderr

    from adapters.storage.models import Person
    from web import create_app

    settings = load_settings(str(tmp_path / "t.toml")).with_overrides({"app.var_dir": str(tmp_path / "v")})
    container = bootstrap(settings)
    try:
        with container.uow() as uow:
            admin = uow.people.add(Person(email="root@example.org", name="Root", is_admin=True))
            uow.commit()
            admin_id = admin.id
        client = create_app(container=container).test_client()
        reply = client.get(f"/api/v1/programs/{program_id}/reports/missed?format=csv",
                           headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 200 and reply.mimetype == "text/csv"
        api_rows = list(csv.reader(io.StringIO(reply.get_data(as_text=True))))
        sign_in_as(client, admin_id)
        web = client.get(f"/programs/{program_id}/reports/missed.csv")
        assert web.status_code == 200
        assert api_rows == list(csv.reader(io.StringIO(web.get_data(as_text=True))))
        assert api_rows[0][:2] == ["occurrence_id", "pair_id"] and len(api_rows) > 1  # the seed misses some
        (line,) = service.api_tokens_of_program(container, program_id)
        assert line.name == "t" and line.created_by is None and line.last_used_at is not None
    finally:
        container.dispose()


def test_an_all_programs_token_and_clear_refusals(tmp_path):
    env = _installation(tmp_path, demo=False)
    out = _tandem("api-token", "create", "--all-programs", "--name", "admin", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("tdm_") and "administrator" in out.stderr

    out = _tandem("api-token", "create", "--program", "nope", "--name", "t", env=env)
    assert out.returncode == 2 and out.stdout == ""
    assert "no program with the id “nope”" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = _tandem("api-token", "create", "--all-programs", "--name", " ", env=env)
    assert out.returncode == 2 and "name" in out.stderr
    out = _tandem("api-token", "create", "--name", "t", env=env)
    assert out.returncode == 2 and "--program" in out.stderr  # argparse: one of the two is required


def test_an_administrators_token_is_listed_and_revoked_from_the_command_line(tmp_path):
    env = _installation(tmp_path, demo=False)
    token = _tandem("api-token", "create", "--all-programs", "--name", "HR export", env=env).stdout.strip()
    listed = _tandem("api-token", "list", "--all-programs", env=env)
    assert listed.returncode == 0 and token not in listed.stdout
    [line] = listed.stdout.strip().splitlines()
    token_id, state, used, name = line.split("\t")
    assert (state, used, name) == ("active", "never used", "HR export")

    revoked = _tandem("api-token", "revoke", token_id, env=env)
    assert revoked.returncode == 0 and "revoked" in revoked.stderr
    assert _tandem("api-token", "list", "--all-programs", env=env).stdout.split("\t")[1].startswith("revoked ")
    settings = load_settings(str(tmp_path / "t.toml")).with_overrides({"app.var_dir": str(tmp_path / "v")})
    container = bootstrap(settings)
    try:
        with pytest.raises(service.TokenRefused):
            service.authenticate(container, token, per_minute=100)
    finally:
        container.dispose()
    missing = _tandem("api-token", "revoke", "no-such-id", env=env)
    assert missing.returncode == 2 and "api-token list" in missing.stderr
