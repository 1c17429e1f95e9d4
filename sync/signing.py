"""Standard Webhooks signatures: HMAC-SHA256 over ``<id>.<timestamp>.<body>``.

A secret is written ``whsec_<base64 key>`` (the Standard Webhooks form; any
other text is taken as the key's bytes). During a key rotation a peer holds
several secrets: every one signs, and the ``webhook-signature`` header lists
the signatures space-separated (``v1,<base64> v1,<base64>``), so a receiver
that knows either key accepts the delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "whsec_"


def key_of(secret: str) -> bytes:
    return base64.b64decode(secret[len(PREFIX):]) if secret.startswith(PREFIX) else secret.encode()


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key_of(secret), signed, hashlib.sha256).digest()).decode()


def signature_header(secrets: Sequence[str], delivery_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret, delivery_id, timestamp, body) for secret in secrets)


def verify(secret: str, delivery_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver does: any listed signature made with its key is accepted."""
    expected = sign(secret, delivery_id, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in header.split())
