"""Webhook secrets sealed for the store: a dump of the database reveals none of them.

A webhook's secret (the ``X-Hook-Secret`` of its handshake) is what proves a delivery comes from
Asana; anyone holding it can forge deliveries. So the store keeps it sealed with a key that is
not in the database: ``webhooks.seal_key`` (``DELEGATOR_WEBHOOKS_SEAL_KEY`` or ``_FILE``), given
to every replica. Sealing is Fernet from ``cryptography`` (AES-128-CBC with an HMAC-SHA256 tag:
tampering is detected, not just hidden), the well-kept standard recipe, not one written here.

The Fernet key is derived from the setting with SHA-256, so any high-entropy text of at least
32 characters will do (``openssl rand -base64 32``). A secret sealed under another key (the key
was rotated) does not unseal: `Sealer.unseal` answers None, and the service then deletes that
webhook and subscribes again, which gives it a new secret sealed under the new key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

MIN_KEY_LENGTH = 32


class SealKeyError(ValueError):
    """The seal key is too short to be a key."""


class Sealer:
    """Seals and unseals webhook secrets with one key."""

    def __init__(self, key: str) -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise SealKeyError(
                f"the seal key must be at least {MIN_KEY_LENGTH} characters of random text "
                f"(got {len(key)}); make one with: openssl rand -base64 32"
            )
        derived = hashlib.sha256(b"delegator webhook secrets\0" + key.encode("utf-8")).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def __repr__(self) -> str:
        return "Sealer(<key>)"

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def unseal(self, sealed: str) -> str | None:
        """The secret, or None when it was sealed with another key or was altered."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            return None
