"""Standard Webhooks signatures: HMAC-SHA256 over ``<id>.<timestamp>.<body>``.

A secret is the key in base64, written ``whsec_<base64>`` or without the
prefix, as Standard Webhooks writes it and its libraries read it (padding
may be left off). Text that is not base64 is no secret: it is refused when
delivery starts, since a receiver handed the same text would verify with
other bytes than ours. During a key rotation a peer holds
several secrets: every one signs, and the ``webhook-signature`` header lists
the signatures space-separated (``v1,<base64> v1,<base64>``), so a receiver
that knows either key accepts the delivery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

PREFIX = "whsec_"


class NotASecret(ValueError):
    """A signing secret that is not a base64 key."""


def key_of(secret: str) -> bytes:
    encoded = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (ValueError, binascii.Error):
        raise NotASecret("is not a base64 key (whsec_ and the key in base64)") from None
    if not key:
        raise NotASecret("is empty, not a base64 key")
    return key


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key_of(secret), signed, hashlib.sha256).digest()).decode()


def signature_header(secrets: Sequence[str], delivery_id: str, timestamp: int, body: bytes) -> str:
    return " ".join(sign(secret, delivery_id, timestamp, body) for secret in secrets)


def verify(secret: str, delivery_id: str, timestamp: int, body: bytes, header: str) -> bool:
    """What a receiver does: any listed signature made with its key is accepted."""
    expected = sign(secret, delivery_id, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in header.split())
