"""Is the message broker there? A probe for `tandem doctor` and `/healthz`."""
from __future__ import annotations


def check_broker(broker_url: str) -> str | None:
    """None when the broker answers, else a sentence saying what is wrong."""
    if broker_url.startswith("memory"):
        return None
    import redis

    try:
        client = redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
        return None
    except Exception as exc:  # reported, not raised: this is a health probe
        return f"Redis at {broker_url} does not answer ({type(exc).__name__}: {exc}); start it or fix broker.url"
