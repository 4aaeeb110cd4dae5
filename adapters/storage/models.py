"""The mapped entities and the schema's metadata, for storage code, migrations and tests.

The classes are the domain's plain classes (``scheduler.core.entities``), mapped onto the tables
of ``adapters.storage.orm``. Only ``adapters/storage``, migrations and tests import this module:
web, workers and the CLI go through the services and the unit of work (import-linter enforces it).
"""
from __future__ import annotations

from adapters.storage.orm import metadata
from scheduler.core.entities import (AgendaTemplate, ApiToken, CalendarConnection, Feedback, Goal, Membership,
                                     Notification, Occurrence, OutboxMessage, Pair, PairRiskMark, Person, Program,
                                     Series, UsedLink, WebhookDelivery, WebhookEndpoint, WebSession, new_id, utcnow)


class Base:
    """The schema's ``metadata`` under the name Alembic and the tests know."""

    metadata = metadata


__all__ = ["AgendaTemplate", "ApiToken", "Base", "CalendarConnection", "Feedback", "Goal", "Membership",
           "Notification", "Occurrence", "OutboxMessage", "Pair", "PairRiskMark", "Person", "Program", "Series",
           "UsedLink", "WebhookDelivery", "WebhookEndpoint", "WebSession", "new_id", "utcnow"]
