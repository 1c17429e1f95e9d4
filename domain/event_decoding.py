"""Decoding stored events, fast: for the views, a batch at a time, and for
the ledger, the events of each aggregate it loads (:class:`LedgerMapper`).

The library's ``Mapper.to_domain_event`` decodes one event at a time with a
generic JSON object hook; a rebuild decodes every event of the log, and a
command decodes every event of the contract it loads, so that cost bounds
their speed. :class:`BatchDecoder` yields the same domain events
(same classes, equal attribute values, upcast the same way) with less work
per event:

* the object hook looks a transcoding up by name in one step;
* values that repeat across events (ids, actors, dates) are decoded once and
  shared: they are immutable (UUID, frozen dataclasses, dates), so sharing an
  instance is invisible to every reader;
* an event's class is resolved once per topic.

With a cipher or a compressor, or a transcoder other than the library's
JSONTranscoder, it falls back to the mapper itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    MapperDeserialisationError,
    Notification,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

from contractledger.domain.actor import Actor, Role

# Shared decoded values are kept until there are this many, then forgotten.
MEMO_LIMIT = 200_000


class BatchDecoder:
    def __init__(self, mapper: Mapper[Any], memo_limit: int = MEMO_LIMIT) -> None:
        self.mapper = mapper
        self.memo_limit = memo_limit
        transcoder = mapper.transcoder
        self.fast = (
            type(transcoder) is JSONTranscoder and not mapper.cipher and not mapper.compressor
        )
        self._classes: dict[tuple[str, type], tuple[type, Callable[[Any], Any], int]] = {}
        self._memo: dict[tuple[str, Any], Any] = {}
        if self.fast:
            self._decoders = self._transcoding_decoders(transcoder)
            self._decoder = json.JSONDecoder(object_hook=self._hook)

    def _transcoding_decoders(self, transcoder: JSONTranscoder) -> dict[str, Callable[[Any], Any]]:
        decoders: dict[str, Callable[[Any], Any]] = {}
        memo = self._memo
        for name, transcoding in transcoder.names.items():
            decode = transcoding.decode
            if name == "actor":
                decoders[name] = self._actor
            elif name in ("uuid_hex", "date_iso", "decimal_str"):
                # immutable values that recur: decoded once each
                decoders[name] = _memoised(name, decode, memo)
            else:
                decoders[name] = decode
        return decoders

    def _actor(self, data: dict[str, Any]) -> Actor:
        behalf = data.get("on_behalf_of")
        key = ("actor", (data["role"], data["user"], data["party_id"], behalf))
        found = self._memo.get(key)
        if found is None:
            party = data["party_id"]
            found = Actor(
                role=Role(data["role"]),
                user=data["user"],
                party_id=UUID(party) if party else None,
                on_behalf_of=Role(behalf) if behalf else None,
            )
            self._memo[key] = found
        return found

    def _hook(self, d: dict[str, Any]) -> Any:
        # as JSONTranscoder._decode_obj: only a dict of exactly _type_ and _data_ is a transcoded value
        if len(d) == 2 and "_type_" in d and "_data_" in d:
            try:
                decode = self._decoders[d["_type_"]]
            except KeyError:
                return self.mapper.transcoder._decode_obj(d)  # raises the library's own error
            return decode(d["_data_"])
        return d

    def _class(self, topic: str, originator_id: Any) -> tuple[type, Callable[[Any], Any], int]:
        key = (topic, type(originator_id))
        found = self._classes.get(key)
        if found is None:
            cls = resolve_topic(topic)
            found = (cls, find_id_convertor(cls, type(originator_id)), getattr(cls, "class_version", 1))
            self._classes[key] = found
        return found

    def decode(self, notification: Notification) -> Any:
        if not self.fast:
            return self.mapper.to_domain_event(notification)
        if len(self._memo) > self.memo_limit:
            self._memo.clear()
        try:
            state: dict[str, Any] = self._decoder.decode(notification.state.decode("utf8"))
        except Exception as error:
            raise MapperDeserialisationError(
                f"Failed to deserialise state of stored event with topic '{notification.topic}', "
                f"originator_id '{notification.originator_id}' and "
                f"originator_version {notification.originator_version}: {error}"
            ) from error
        return self._event(notification.topic, notification.originator_id, notification.originator_version, state)

    def _event(self, topic: str, originator_id: Any, originator_version: int, state: dict[str, Any]) -> Any:
        """The domain event of a stored event's envelope and decoded state:
        the envelope's ids set, upcast to its class's version, made without
        running the class's ``__init__`` (as the mapper makes it)."""
        cls, convert, class_version = self._class(topic, originator_id)
        state["originator_id"] = convert(originator_id)
        state["originator_version"] = originator_version
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def decode_all(self, notifications: Sequence[Notification]) -> list[Any]:
        """The batch's events, in order. The states are parsed as one JSON
        array (one call into the parser instead of one per event); should
        that fail, event by event, so the error names the event at fault."""
        if not self.fast or not notifications:
            return [self.decode(n) for n in notifications]
        if len(self._memo) > self.memo_limit:
            self._memo.clear()
        try:
            states = self._decoder.decode("[" + ",".join([n.state.decode("utf8") for n in notifications]) + "]")
        except Exception:
            return [self.decode(n) for n in notifications]
        if len(states) != len(notifications):
            return [self.decode(n) for n in notifications]
        events = []
        for notification, state in zip(notifications, states):
            if type(state) is not dict:
                events.append(self.decode(notification))  # raises as the mapper would
                continue
            events.append(self._event(notification.topic, notification.originator_id, notification.originator_version, state))
        return events

    def decode_page(self, page: Any) -> list[tuple[int, Any]] | None:
        """The (notification id, event) pairs of a page of the log read in
        columns (a store's ``StatePage``: ids, topics, originator ids, versions and the states as one JSON array), its states parsed as the one JSON array they arrive as.
        None when that array does not parse into one object per event: the
        caller then decodes the page event by event, to name the one at fault."""
        if not self.fast:
            return None
        if len(self._memo) > self.memo_limit:
            self._memo.clear()
        try:
            states = self._decoder.decode(page.states)
        except Exception:
            return None
        if type(states) is not list or len(states) != len(page.ids):
            return None
        event = self._event
        pairs = []
        for notification_id, topic, originator_id, version, state in zip(
            page.ids, page.topics, page.originator_ids, page.versions, states
        ):
            if type(state) is not dict:
                return None
            pairs.append((notification_id, event(topic, originator_id, version, state)))
        return pairs


class LedgerMapper(Mapper):  # type: ignore[type-arg]
    """The library's mapper, decoding stored events with a :class:`BatchDecoder`
    (events the same, decoded with less work). Its memo is small: an HTTP
    worker loads aggregates all day, and its memory must not grow with them."""

    MEMO_LIMIT = 20_000

    def to_domain_event(self, stored: Any) -> Any:
        decoder = self.__dict__.get("_decoder")
        if decoder is None:
            decoder = self.__dict__["_decoder"] = BatchDecoder(_LibraryMapping(self), memo_limit=self.MEMO_LIMIT)
        if not decoder.fast:
            return super().to_domain_event(stored)
        return decoder.decode(stored)


class _LibraryMapping:
    """A mapper as the library makes it, for a :class:`BatchDecoder` inside a
    :class:`LedgerMapper`: its own fall-backs and error messages come from the
    library's code, not back to the ledger mapper."""

    def __init__(self, mapper: Mapper) -> None:  # type: ignore[type-arg]
        self.transcoder, self.cipher, self.compressor = mapper.transcoder, mapper.cipher, mapper.compressor
        self._mapper = mapper

    def to_domain_event(self, stored: Any) -> Any:
        return Mapper.to_domain_event(self._mapper, stored)


def _memoised(name: str, decode: Callable[[Any], Any], memo: dict[tuple[str, Any], Any]) -> Callable[[Any], Any]:
    def memoised(data: Any) -> Any:
        key = (name, data)
        found = memo.get(key)
        if found is None:
            found = memo[key] = decode(data)
        return found

    return memoised
