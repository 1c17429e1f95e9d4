"""Writing answers: JSON straight from the read side's dataclasses and the
commands' answer structs (msgspec encodes UUIDs, dates, decimals and enums
as their JSON text)."""

from __future__ import annotations

from typing import Any

import falcon
import msgspec

_encoder = msgspec.json.Encoder(decimal_format="string")


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def send(resp: falcon.Response, value: Any, status: str = falcon.HTTP_200) -> None:
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.data = encode(value)


def etag(version: int) -> str:
    return f'"{version}"'
