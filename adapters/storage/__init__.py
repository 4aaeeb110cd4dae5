"""SQLAlchemy 2 storage: models, engine/session, unit of work, Alembic migrations."""
