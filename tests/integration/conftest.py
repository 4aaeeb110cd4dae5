"""Fixtures shared by the integration tests: the web app and client, a seeded program, and the
booking pipeline (in-memory calendars and mailer, a stub broker, the real actors and tick)."""
import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from adapters.mail.memory import InMemoryMailer
from adapters.providers.memory import InMemoryCalendarProvider
from config.bootstrap import bootstrap
from tests.support.pipeline import NOW, FakeClock
from workers import actors

from tests.support.web import seed
from web import create_app


@pytest.fixture
def app(container):
    return create_app(container=container)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def seeded(container):
    """A program with a coordinator, a mentor, a mentee and their pair (see tests/support/web.py)."""
    return seed(container)


@pytest.fixture
def pipeline(settings):
    clock = FakeClock(NOW)
    calendars = InMemoryCalendarProvider(now=clock.now, sleep=lambda s: None)
    mailer = InMemoryMailer()
    container = bootstrap(settings, clock=clock, providers={"memory": calendars}, mailer=mailer)
    broker = StubBroker()
    broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    actors.bind_actors(broker, container)
    yield container, broker, calendars, mailer, clock
    broker.close()
    container.dispose()
