import pytest

from adapters.tokens import TokenCipher
from scheduler.errors import ConfigError


def test_round_trip_hides_the_plaintext():
    cipher = TokenCipher([TokenCipher.generate_key()])
    blob = cipher.encrypt({"refresh_token": "very-secret-refresh"})
    assert b"very-secret-refresh" not in blob
    assert cipher.decrypt(blob) == {"refresh_token": "very-secret-refresh"}


def test_key_rotation_keeps_old_tokens_readable_and_rewrites_them():
    old, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    blob = TokenCipher([old]).encrypt({"t": 1})
    both = TokenCipher([new, old])
    assert both.decrypt(blob) == {"t": 1}
    assert not both.is_current(blob)
    rotated = both.rotate(blob)
    assert both.is_current(rotated)
    assert TokenCipher([new]).decrypt(rotated) == {"t": 1}


def test_wrong_or_bad_keys_give_actionable_errors():
    blob = TokenCipher([TokenCipher.generate_key()]).encrypt({"t": 1})
    with pytest.raises(ConfigError, match="cannot be decrypted with any key"):
        TokenCipher([TokenCipher.generate_key()]).decrypt(blob)
    with pytest.raises(ConfigError, match="not a Fernet key"):
        TokenCipher(["not-a-key"])
    with pytest.raises(ConfigError, match="token_keys is empty"):
        TokenCipher([])
