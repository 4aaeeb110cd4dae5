"""Use cases: plain functions over the container's ports (unit of work, providers, mailer, clock).

Each use case keeps database transactions short and never holds one across a provider call:
read what it needs, commit or close, talk to the calendar, then write the outcome in a new
transaction that re-checks the state it read (another delivery may have finished first).
"""
