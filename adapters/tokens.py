"""Calendar tokens encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from ``security.token_keys``: the first encrypts, every key decrypts, so a new key is
put first and ``tandem tokens rotate`` re-encrypts old rows; then the old key can be removed.
"""
from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from scheduler.errors import ConfigError


class TokenCipher:
    def __init__(self, keys: tuple[str, ...] | list[str]):
        if not keys:
            raise ConfigError("security.token_keys is empty: calendar tokens cannot be encrypted; "
                              "run 'tandem config init' or set TANDEM_SECURITY__TOKEN_KEYS")
        try:
            self._fernets = [Fernet(k.encode() if isinstance(k, str) else k) for k in keys]
        except (ValueError, TypeError):
            raise ConfigError("security.token_keys holds a value that is not a Fernet key "
                              "(32 url-safe base64 bytes); generate one with 'tandem config init'") from None
        self._multi = MultiFernet(self._fernets)

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, credentials: dict) -> bytes:
        return self._multi.encrypt(json.dumps(credentials, sort_keys=True).encode())

    def decrypt(self, blob: bytes) -> dict:
        try:
            return json.loads(self._multi.decrypt(blob))
        except InvalidToken:
            raise ConfigError("a stored calendar token cannot be decrypted with any key in "
                              "security.token_keys; was a key removed before 'tandem tokens rotate'?") from None

    def rotate(self, blob: bytes) -> bytes:
        """Re-encrypt ``blob`` with the first (newest) key."""
        return self._multi.rotate(blob)

    def is_current(self, blob: bytes) -> bool:
        try:
            self._fernets[0].decrypt(blob)
            return True
        except InvalidToken:
            return False
