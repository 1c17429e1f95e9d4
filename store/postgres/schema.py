"""The PostgreSQL store's tables, and the guard that makes the ledger append-only.

The stored-events table of an application carries two columns beyond the
library's: ``notification_id`` is assigned by the inserting transaction under
the table lock (the last id plus one, so ids are contiguous and follow commit
order), and ``hash`` is the event's link in the ledger's hash chain
(:mod:`contractledger.store.hashchain`).

The guard is a pair of statement-level triggers that refuse UPDATE, DELETE and
TRUNCATE of the stored-events table for every role, the table's owner and
superusers included. A superuser can still lift it (``SET
session_replication_role = replica``, ``ALTER TABLE ... DISABLE TRIGGER``),
and the owner can disable the triggers: that is what the hash chain is for,
since any change made behind the guard's back breaks the chain and
``scripts/verify-ledger`` names where.

Snapshot tables (aggregate recorders) are deliberately left mutable: a
snapshot is a cache of state derived from the events, and can be deleted and
rebuilt at will.
"""

from __future__ import annotations

GUARD_FUNCTION = "contractledger_refuse_change"

# Serialises schema changes between processes starting at once: two
# concurrent `CREATE TABLE IF NOT EXISTS` of one table can both try to create it.
DDL_LOCK_KEY = 0x636C6564676572


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, quoted (the same as psycopg2.sql.Identifier)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def snapshots_table(schema: str, table: str, id_type: str) -> list[str]:
    """An aggregate recorder's table: events or snapshots by aggregate, no log order."""
    return [
        f"CREATE TABLE IF NOT EXISTS {qualified(schema, table)} ("
        f"originator_id {id_type} NOT NULL, "
        "originator_version bigint NOT NULL, "
        "topic text NOT NULL, "
        "state bytea NOT NULL, "
        "PRIMARY KEY (originator_id, originator_version))"
    ]


def events_table(schema: str, table: str, id_type: str) -> list[str]:
    """An application recorder's table: the ledger, in notification id order."""
    index = quote_ident(f"{table}_notification_id_idx"[:63])
    return [
        f"CREATE TABLE IF NOT EXISTS {qualified(schema, table)} ("
        f"originator_id {id_type} NOT NULL, "
        "originator_version bigint NOT NULL, "
        "topic text NOT NULL, "
        "state bytea NOT NULL, "
        "notification_id bigint NOT NULL, "
        "hash bytea, "
        "PRIMARY KEY (originator_id, originator_version))",
        f"CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {qualified(schema, table)} (notification_id)",
    ]


def tracking_table(schema: str, table: str) -> list[str]:
    """One row per upstream application: the last notification id processed."""
    return [
        f"CREATE TABLE IF NOT EXISTS {qualified(schema, table)} ("
        "application_name text PRIMARY KEY, "
        "notification_id bigint NOT NULL)"
    ]


def append_only_guard(schema: str, table: str) -> list[str]:
    """Triggers refusing UPDATE, DELETE and TRUNCATE of the ledger table."""
    function = qualified(schema, GUARD_FUNCTION)
    target = qualified(schema, table)
    statements = [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $guard$ "
        "BEGIN "
        "RAISE EXCEPTION 'the ledger table %.% is append-only: % refused', "
        "TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP "
        "USING ERRCODE = 'insufficient_privilege', "
        "HINT = 'Stored events are never changed or removed; record a correcting event instead.'; "
        "END $guard$"
    ]
    for suffix, events in (("append_only", "UPDATE OR DELETE"), ("no_truncate", "TRUNCATE")):
        trigger = f"{table}_{suffix}"[:63]
        # No CREATE OR REPLACE TRIGGER before PostgreSQL 14, and dropping first
        # would leave the table unguarded for a moment.
        statements.append(
            "DO $create$ BEGIN "
            "IF NOT EXISTS (SELECT 1 FROM pg_trigger "
            f"WHERE tgrelid = '{_literal(target)}'::regclass AND tgname = '{_literal(trigger)}') THEN "
            f"CREATE TRIGGER {quote_ident(trigger)} BEFORE {events} ON {target} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}(); "
            "END IF; END $create$"
        )
    return statements


def _literal(text: str) -> str:
    return text.replace("'", "''")
