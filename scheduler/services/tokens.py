"""Key rotation of the calendar tokens stored encrypted at rest."""
from __future__ import annotations

from scheduler.ports import Dependencies


def rotate_tokens(deps: Dependencies) -> int:
    """Re-encrypt every token blob not yet under the newest key; returns how many changed. Run
    after putting a new key first in ``security.token_keys``; then the old key can go."""
    changed = 0
    with deps.uow() as uow:
        for connection in uow.connections.with_tokens():
            if not deps.cipher.is_current(connection.token_blob):
                connection.token_blob = deps.cipher.rotate(connection.token_blob)
                changed += 1
        uow.commit()
    return changed
