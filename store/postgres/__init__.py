"""The ledger's PostgreSQL store: an eventsourcing 9.5 persistence module on psycopg2.

Select it with ``PERSISTENCE_MODULE=contractledger.store.postgres``; it reads
the same settings as the library's own (psycopg 3) module: ``POSTGRES_DBNAME``,
``POSTGRES_HOST``, ``POSTGRES_PORT``, ``POSTGRES_USER``, ``POSTGRES_PASSWORD``,
``POSTGRES_SCHEMA``, ``POSTGRES_POOL_SIZE``... (see
:mod:`contractledger.store.postgres.settings`). A bad setting fails when the
factory is constructed, with one sentence naming it.

What it adds to the library's design:

* Every stored event carries its link in the ledger's hash chain
  (:mod:`contractledger.store.hashchain`), chained to the last link as the
  database holds it under the inserting transaction's table lock, and
  :meth:`~PostgresApplicationRecorder.chained_events` streams the chain for
  ``scripts/verify-ledger``.
* The stored-events table is append-only, enforced by the database
  (:mod:`contractledger.store.postgres.schema`).

This package's modules: ``factory`` (the :class:`PostgresFactory` the library
finds here), ``recorders`` (how events are inserted, chained and read),
``datastore`` (connections and their pool), ``schema`` (the tables and the
append-only guard), ``settings`` (the ``POSTGRES_*`` settings, read and
checked) and ``errors`` (psycopg2's exceptions in the library's terms). The
names below are the module's public ones, as they were when it was one file:
recorder topics such as ``contractledger.store.postgres:PostgresApplicationRecorder``
still resolve.
"""

from contractledger.store.postgres.datastore import PgConnection, PostgresDatastore
from contractledger.store.postgres.factory import PostgresFactory, refuse_other_logs
from contractledger.store.postgres.recorders import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresProcessRecorder,
    PostgresRecorder,
    PostgresSubscription,
    PostgresTrackingRecorder,
)

__all__ = [
    "PgConnection",
    "PostgresAggregateRecorder",
    "PostgresApplicationRecorder",
    "PostgresDatastore",
    "PostgresFactory",
    "PostgresProcessRecorder",
    "PostgresRecorder",
    "PostgresSubscription",
    "PostgresTrackingRecorder",
    "refuse_other_logs",
]
