"""The emulator's RS256 signing key: signs ID tokens and is published as a JWKS."""
from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt

ID_TOKEN_LIFETIME_S = 3600


class SigningKeys:
    """One RSA key made at start-up (never persisted)."""

    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        self.kid = hashlib.sha256(pem).hexdigest()[:16]
        self._signer = crypt.RSASigner.from_string(pem, key_id=self.kid)
        self._public = key.public_key().public_numbers()

    def id_token(self, issuer: str, audience: str, email: str, now: float) -> str:
        """A signed OpenID Connect ID token for ``email``."""
        payload = {"iss": issuer, "aud": audience, "azp": audience, "sub": subject_for(email), "email": email,
                   "email_verified": True, "iat": int(now), "exp": int(now) + ID_TOKEN_LIFETIME_S}
        return jwt.encode(self._signer, payload).decode()

    def jwk(self) -> dict:
        def enc(value: int) -> str:
            return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
                "n": enc(self._public.n), "e": enc(self._public.e)}


@functools.lru_cache(maxsize=1)
def shared_signing_keys() -> SigningKeys:
    """One key per process: making an RSA key takes up to a second, and emulators are many in tests."""
    return SigningKeys()


def b64url(data: bytes) -> str:
    """Base64url without padding (JWT, PKCE)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def subject_for(email: str) -> str:
    """A stable numeric ``sub`` for a user, like Google's account ids."""
    return str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16))
