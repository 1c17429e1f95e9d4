"""The contract ledger: the one Application whose methods are the use cases.

Every use case takes the acting ``Actor`` first and an optional ``command_id``;
it runs through ``_run``, which checks the rules, saves every changed
aggregate together with the command's record in ONE atomic save, and answers
a repeated command id with the first outcome. A refused command saves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper

from contractledger.domain.actor import Actor
from contractledger.domain.bundle import Bundle
from contractledger.domain.clock import Clock, SystemClock, end_of_day, today
from contractledger.domain.command_handlers import Outcome, handler_for
from contractledger.domain.command_record import CommandPrint, CommandRecord, generated_command_id, mark_caused_by, record_id
from contractledger.domain.commands import Command, OnContract, version_mismatch
from contractledger.domain.contract import Contract
from contractledger.domain.errors import Conflict, NotFound
from contractledger.domain.event_decoding import LedgerMapper
from contractledger.domain.history import event_as_plain_data
from contractledger.domain.lifecycle_use_cases import LifecycleUseCases
from contractledger.domain.numbering_use_cases import NumberingUseCases
from contractledger.domain.onboarding_use_cases import OnboardingUseCases
from contractledger.domain.oversight import AdvisorRecordIndex, OversightUseCases
from contractledger.domain.party import Party
from contractledger.domain.party_use_cases import PartyUseCases
from contractledger.domain.permissions import ensure_admin_on_contract, ensure_may_change, ensure_may_read_contract
from contractledger.domain.relationship_index import DirectRelationships, pair_id
from contractledger.domain.status import Status
from contractledger.domain.transcodings import ALL
from contractledger.domain.transfer_use_cases import TransferUseCases


LEDGER_NAME = "ContractLedger"
"""The one application name of the ledger: every process and script opens the
log under it (the stores name their tables after it: ``contractledger_events``)."""


class AggregatesCollected(ProcessingEvent):  # type: ignore[type-arg]
    """What one ``save`` records. The library tells an aggregate from an event
    with two runtime-checkable protocols, about 20 us per object on Python 3.11,
    a tenth of a one-event save's CPU; every aggregate of the ledger is an
    ``Aggregate``, told apart with one plain ``isinstance``. Anything else
    is collected as the library collects it."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


def mutate_in_turn(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's ``project_aggregate`` without its assertion, per event, that
    the event is a runtime-checkable protocol (about 15 us each on Python 3.11:
    a contract of 17 events paid a quarter of a command's CPU to load)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class LedgerRepository(Repository):  # type: ignore[type-arg]
    """The library's repository, reconstructing aggregates with ``mutate_in_turn``,
    and reading an aggregate's latest snapshot and its events after it in one
    go where the store offers it (``select_from_latest_snapshot``)."""

    def get(self, aggregate_id: Any, *, projector_func: Any = mutate_in_turn, **options: Any) -> Any:
        return super().get(aggregate_id, projector_func=projector_func, **options)

    def _reconstruct_aggregate(self, aggregate_id: Any, version: int | None, projector_func: Any) -> Any:
        read_both = getattr(self.event_store.recorder, "select_from_latest_snapshot", None)
        if self.snapshot_store is None or read_both is None:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        snapshot, stored_events = read_both(self.snapshot_store.recorder, aggregate_id, lte=version)
        to_event = self.event_store.mapper.to_domain_event
        events = [self.snapshot_store.mapper.to_domain_event(snapshot)] if snapshot is not None else []
        aggregate = projector_func(None, chain(events, map(to_event, stored_events)))
        if aggregate is None:
            raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} version {version!r} not found.")
        return aggregate


class ContractLedger(
    OversightUseCases,
    PartyUseCases,
    OnboardingUseCases,
    NumberingUseCases,
    TransferUseCases,
    LifecycleUseCases,
    Application,
):
    """The system of record for producer contracting (docs/rules.md)."""

    name = LEDGER_NAME
    # A command on a contract with a long history loads the latest snapshot
    # plus at most 99 events (see scripts/bench-long-history).
    # An advisor's record index grows with every monitoring or debt record.
    snapshotting_intervals = {Contract: 100, Party: 100, AdvisorRecordIndex: 100}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The library names a subclass's application (and so its tables) after
        # the subclass: a wrapper would silently write to a log nothing reads.
        super().__init_subclass__(**kwargs)
        cls.name = LEDGER_NAME

    def __init__(self, env: dict[str, str] | None = None, clock: Clock | None = None) -> None:
        # Without a clock given, the real one in the configured business time
        # zone (rules §10), checked before the store is opened.
        self.clock: Clock = clock or SystemClock.from_settings(self.construct_env(self.name, env))
        super().__init__(env)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for transcoding in ALL:
            transcoder.register(transcoding())

    def construct_mapper(self) -> Mapper:  # type: ignore[type-arg]
        mapper = super().construct_mapper()
        if type(mapper) is Mapper:  # the library's, not one named by MAPPER_TOPIC: the same, decoding faster
            mapper.__class__ = LedgerMapper
        return mapper

    def construct_repository(self) -> Repository:  # type: ignore[type-arg]
        repository = super().construct_repository()
        # the library's, configured from the environment as it is; only its loading differs (it adds no state)
        repository.__class__ = LedgerRepository
        return repository

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """The library's ``save``, collecting the ledger's aggregates without its
        runtime protocol checks (see ``AggregatesCollected``)."""
        processing_event = AggregatesCollected()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, still called as its save does
        return recordings

    # -- time ---------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock.now()

    def _today(self) -> date:
        return today(self.clock)

    def _effective(self, effective_on: date | None) -> date:
        return effective_on if effective_on is not None else self._today()

    def _end_of_day(self, day: date) -> datetime:
        """The last instant of ``day`` in the business time zone."""
        return end_of_day(self.clock, day)

    # -- loading --------------------------------------------------------------

    def _load(self, aggregate_id: UUID, kind: type[Aggregate], code: str, message: str, field: str) -> Any:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(code, message, field) from None
        if not isinstance(aggregate, kind):
            raise NotFound(code, message, field)
        return aggregate

    def _load_contract(self, contract_id: UUID) -> Contract:
        return self._load(contract_id, Contract, "contract.not_found", "No such contract; check the contract id.", "contract_id")

    def _load_party(self, party_id: UUID) -> Party:
        return self._load(party_id, Party, "party.not_found", "No such party; check the party id.", "party_id")

    def _load_bundle(self, bundle_id: UUID) -> Bundle:
        return self._load(bundle_id, Bundle, "bundle.not_found", "No such bundle; check the bundle id.", "bundle_id")

    def _on_contract(self, actor: Actor, command: OnContract, change: Callable[[Contract], None]) -> Outcome:
        """The command's contract changed by ``change``, by an admin of a party on it (or a peer): the
        numbering and lifecycle use cases."""
        ensure_may_change(actor)
        contract = self._load_contract(command.contract_id)
        ensure_admin_on_contract(actor, contract)
        change(contract)
        return contract.version, [contract]

    def _relationships_between(self, upper_id: UUID, lower_id: UUID) -> DirectRelationships | None:
        try:
            return self.repository.get(pair_id(upper_id, lower_id))
        except AggregateNotFoundError:
            return None

    def _relationship_contracts(self, upper_id: UUID, lower_id: UUID) -> list[Contract]:
        index = self._relationships_between(upper_id, lower_id)
        return [self._load_contract(c) for c in index.contract_ids] if index else []

    def _has_active_relationship(self, upper_id: UUID, lower_id: UUID) -> bool:
        day = self._today()
        return any(c.status_on(day) is Status.ACTIVE for c in self._relationship_contracts(upper_id, lower_id))

    # -- running a command ----------------------------------------------------------

    def handle(self, actor: Actor, command: Command, *, command_id: str | None = None) -> Any:
        """Runs ``command`` for ``actor`` by its one handler (domain/command_handlers.py): once per command id
        (a repeat answers the first outcome), its aggregates and the id's record saved atomically, and only on
        the version of its aggregate it expects, if it names one."""
        handler = handler_for(type(command))
        expected = command.expected_version

        def use_case() -> Outcome:
            if expected is not None:
                self._ensure_still_at(command.aggregate_id(), expected)
            outcome, aggregates = handler.body(self, actor, command)
            if expected is not None:
                _ensure_loaded_at(command.aggregate_id(), expected, aggregates)
            return outcome, aggregates

        printed = CommandPrint(handler.use_case, handler.earlier_name, actor, command.printed()) if command_id is not None else None
        return self._run(command_id, printed, use_case)

    def current_version(self, aggregate_id: UUID) -> int | None:
        """The aggregate's version as stored now, read from its newest event (one indexed row, never by
        replaying it); None when there is no such aggregate."""
        newest = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return newest[0].originator_version if newest else None

    def _ensure_still_at(self, aggregate_id: UUID | None, expected: int) -> None:
        """Refuses a command based on another version than its aggregate's newest stored one; a missing
        aggregate passes, for its handler to refuse."""
        current = self.current_version(aggregate_id) if aggregate_id is not None else None
        if current is not None and current != expected:
            raise version_mismatch(expected, current)

    def _run(self, command_id: str | None, printed: CommandPrint | None, use_case: Callable[[], Outcome]) -> Any:
        """Runs ``use_case`` once per command id (a repeat answers the first outcome); saves its aggregates and
        the record atomically. Every event saved names the command (its id, or one made up for it) as its cause.
        ``printed`` tells a repeat from another command under the same id (unused without an id)."""
        # A command id is looked up only when the command cannot be run afresh: a new command (nearly every one)
        # reads nothing more than its aggregates, and a repeat is found either way, since running it again saves
        # nothing: it is refused by the rules, or its save meets the record of its first run (IntegrityError).
        try:
            outcome, aggregates = use_case()
        except Exception:
            if command_id is not None and printed is not None:
                earlier = self._command_record(command_id)
                if earlier is not None:
                    return earlier.outcome_for(printed)
            raise
        to_save: list[Aggregate] = list(aggregates)
        if command_id is not None and printed is not None:
            to_save.append(
                CommandRecord.record(
                    command_id, printed.current, outcome, actor=printed.actor, effective_on=self._today(), at=self._now()
                )
            )
        mark_caused_by(to_save, command_id if command_id is not None else generated_command_id())
        try:
            self.save(*to_save)
        except IntegrityError:
            if command_id is not None and printed is not None:
                winner = self._command_record(command_id)
                if winner is not None:
                    return winner.outcome_for(printed)
            raise Conflict(
                "contract.concurrent_change",
                "Someone changed this contract at the same moment; read it again and retry if still needed.",
            ) from None
        return outcome

    def _command_record(self, command_id: str) -> CommandRecord | None:
        try:
            return self.repository.get(record_id(command_id))
        except AggregateNotFoundError:
            return None

    # -- queries --------------------------------------------------------------------

    def get_contract(self, contract_id: UUID, *, viewer: Actor | None = None) -> Contract:
        """The contract's current state; a ``viewer`` not on it is told it does not exist."""
        return self._readable(self._load_contract(contract_id), viewer)

    def _readable(self, contract: Contract, viewer: Actor | None) -> Contract:
        if viewer is not None:
            ensure_may_read_contract(viewer, contract)
        return contract

    def get_party(self, party_id: UUID) -> Party:
        return self._load_party(party_id)

    def get_bundle(self, bundle_id: UUID) -> Bundle:
        return self._load_bundle(bundle_id)

    def _version_as_of(self, aggregate_id: UUID, instant: datetime) -> int | None:
        version = None
        for stored in self.events.get(aggregate_id):
            if stored.timestamp > instant:
                break
            version = stored.originator_version
        return version

    def _as_of(self, aggregate_id: UUID, instant: datetime, kind: type[Aggregate], code: str, noun: str) -> Any:
        version = self._version_as_of(aggregate_id, instant)
        if version is None:
            raise NotFound(code, f"No such {noun} at {instant.isoformat()}; check the id and the instant.", f"{noun}_id")
        aggregate = self.repository.get(aggregate_id, version=version)
        if not isinstance(aggregate, kind):
            raise NotFound(code, f"No such {noun}; check the id.", f"{noun}_id")
        return aggregate

    def contract_as_of(self, contract_id: UUID, instant: datetime, *, viewer: Actor | None = None) -> Contract:
        """rules §10: the contract as the ledger knew it at ``instant`` (replayed from its events)."""
        return self._readable(self._as_of(contract_id, instant, Contract, "contract.not_found", "contract"), viewer)

    def party_as_of(self, party_id: UUID, instant: datetime) -> Party:
        """rules §1 and 10: a party's profile as the ledger knew it at ``instant``."""
        return self._as_of(party_id, instant, Party, "party.not_found", "party")

    def history(self, contract_id: UUID, *, viewer: Actor | None = None) -> list[dict[str, Any]]:
        """rules §10: every event on the contract, in order, as plain data, for auditors
        and the parties on the contract (whom every event on it concerns)."""
        self._readable(self._load_contract(contract_id), viewer)
        return [event_as_plain_data(e) for e in self.events.get(contract_id)]

    def advisor_profile_on_contract(self, contract_id: UUID, day: date | None = None) -> dict[str, Any] | None:
        """rules §5: once a termination has taken effect the contract's parties see the
        snapshot taken at termination, not the advisor's later profile changes."""
        contract = self._load_contract(contract_id)
        if contract.advisor_id is None:
            return None
        day = day or self._today()
        if contract.status_on(day) is Status.TERMINATED and contract.termination:
            return dict(contract.termination["advisor_profile"])
        return dict(self._load_party(contract.advisor_id).profile)

    def _advisor_profile_at_termination(self, contract: Contract, effective_on: date) -> dict[str, Any]:
        if contract.advisor_id is None:
            return {}
        instant = min(self._now(), self._end_of_day(effective_on))
        try:
            return dict(self.party_as_of(contract.advisor_id, instant).profile)
        except NotFound:
            return dict(self._load_party(contract.advisor_id).profile)


def _ensure_loaded_at(aggregate_id: UUID | None, expected: int, aggregates: Sequence[Aggregate]) -> None:
    """Refuses to save the command's aggregate loaded at another version than the command expects: a change
    stored between the first check and the handler's load (the save itself then guards the version loaded)."""
    for aggregate in aggregates:
        if aggregate.id == aggregate_id:
            loaded = aggregate.version - len(aggregate.pending_events)
            if loaded != expected:
                raise version_mismatch(expected, loaded)
