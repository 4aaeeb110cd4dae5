"""The security tests use the integration fixtures: the web app, its client, a seeded program."""
from tests.integration.conftest import app, client, seeded  # noqa: F401 - fixtures
