"""Triggers: which happenings a party wants to be notified of (rules §8).

One settings aggregate per party, found by a deterministic id, so there is
never a second one to disagree with. A party that never configured triggers
is notified of nothing, as in the source system ("provided you have
configured the proper trigger").
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from uuid import UUID, uuid5

from contractledger.domain.actor import Actor
from contractledger.domain.aggregate import LedgerAggregate
from contractledger.domain.clock import Clock, today
from contractledger.domain.errors import InvalidInput

# Stored schema: changing it would orphan every party's settings.
TRIGGER_SETTINGS_NAMESPACE = UUID("6f0f3c52-8a57-4d37-9a0e-6b3c1d2e9f41")


class NotificationKind(str, Enum):
    """What a party can ask to be told about, in the words of the party told."""

    TRANSFER_REQUESTED_ON_CONTRACT_I_RELINQUISH = "transfer_requested_on_contract_i_relinquish"
    NEW_TRANSFER_REQUEST_I_MAY_ACCEPT = "new_transfer_request_i_may_accept"
    TRANSFER_REQUEST_DECIDED = "transfer_request_decided"
    CONTRACT_ASSIGNED = "contract_assigned"
    STATUS_CHANGED = "status_changed"
    CONTRACT_DOWNGRADED = "contract_downgraded"
    CONTRACT_TERMINATED = "contract_terminated"
    CONTRACT_REACTIVATED = "contract_reactivated"
    MONITORING_ADDED = "monitoring_added"
    MONITORING_CHANGED = "monitoring_changed"
    DEBT_LOGGED = "debt_logged"
    DEBT_MADE_PUBLIC = "debt_made_public"
    REMINDER_DUE = "reminder_due"


def notification_kinds(values: Iterable[object]) -> frozenset[NotificationKind]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInput(
            "triggers.kinds_invalid",
            "Give the notification kinds as a list, such as [\"status_changed\"].",
            field="kinds",
        )
    chosen = set()
    for value in values:
        try:
            chosen.add(NotificationKind(value))
        except ValueError:
            known = ", ".join(kind.value for kind in NotificationKind)
            raise InvalidInput(
                "triggers.kind_unknown",
                f"'{value}' is not a notification kind; choose from: {known}.",
                field="kinds",
            ) from None
    return frozenset(chosen)


def trigger_settings_id(party_id: UUID) -> UUID:
    return uuid5(TRIGGER_SETTINGS_NAMESPACE, str(party_id))


class TriggerSettings(LedgerAggregate):
    """The notification kinds one party wants (``party_id``, ``kinds``).

    Kinds are kept as a list of their names so a snapshot (plain JSON)
    restores them unchanged.
    """

    class Configured(LedgerAggregate.Created):
        party_id: UUID
        kinds: tuple[str, ...]

        def apply(self, settings: "TriggerSettings") -> None:
            settings.party_id = self.party_id
            settings._kinds = list(self.kinds)

    class Reconfigured(LedgerAggregate.Event):
        kinds: tuple[str, ...]

        def apply(self, settings: "TriggerSettings") -> None:
            settings._kinds = list(self.kinds)

    @classmethod
    def configure(
        cls, *, actor: Actor, clock: Clock, party_id: UUID, kinds: Iterable[object]
    ) -> "TriggerSettings":
        return cls._create(
            cls.Configured,
            id=trigger_settings_id(party_id),
            timestamp=clock.now(),
            actor=actor,
            effective_on=today(clock),
            party_id=party_id,
            kinds=_stored(notification_kinds(kinds)),
        )

    def reconfigure(self, *, actor: Actor, clock: Clock, kinds: Iterable[object]) -> bool:
        """Replace the chosen kinds; False (and no event) when nothing differs."""
        chosen = notification_kinds(kinds)
        if chosen == self.kinds:
            return False
        self.trigger_event(
            self.Reconfigured,
            timestamp=clock.now(),
            actor=actor,
            effective_on=today(clock),
            kinds=_stored(chosen),
        )
        return True

    @property
    def kinds(self) -> frozenset[NotificationKind]:
        return frozenset(NotificationKind(kind) for kind in self._kinds)

    def wants(self, kind: NotificationKind) -> bool:
        return kind in self.kinds


def _stored(kinds: frozenset[NotificationKind]) -> tuple[str, ...]:
    # Sorted, so the same choice is always stored the same way.
    return tuple(sorted(kind.value for kind in kinds))
