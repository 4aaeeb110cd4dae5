"""Fixtures shared by the web integration tests."""
import pytest

from tests.e2e.helpers import seed
from web import create_app


@pytest.fixture
def app(container):
    return create_app(container=container)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def seeded(container):
    """A program with a coordinator, a mentor, a mentee and their pair (see tests/e2e/helpers.py)."""
    return seed(container)
