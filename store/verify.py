"""The verify command: walks the configured store's hash chain and says whether it holds.

    python -m contractledger.store.verify [--application NAME]

The store is the one the service would use (``PERSISTENCE_MODULE`` and its
settings, as for ``scripts/serve``); any store whose application recorder
offers ``chained_events()`` can be verified (PostgreSQL and SQLite do).
Tables are never created here: a ledger that is not there is an error, not an
empty, intact ledger.

Prints one sentence (:meth:`Verdict.sentence`) and exits 0 when the chain is
intact, 1 when it is broken, 2 when the store cannot be opened or read (one
sentence on standard error, no traceback).
"""

from __future__ import annotations

import argparse
import sys

from eventsourcing.persistence import InfrastructureFactory, InfrastructureFactoryError, PersistenceError
from eventsourcing.utils import Environment

from contractledger.domain.ledger import LEDGER_NAME
from contractledger.store.environment import check_persistence_module, ledger_environment
from contractledger.store.errors import StoreConfigurationError
from contractledger.store.hashchain import verify

DEFAULT_APPLICATION = LEDGER_NAME

INTACT, BROKEN, UNUSABLE = 0, 1, 2


VERIFY_EPILOG = """\
The store is the one the service uses (PERSISTENCE_MODULE and its settings,
read from the environment). No table is ever created: a ledger that is not
there is an error, not an empty, intact ledger.

exit status:
  0  the chain is intact (the events walked are counted)
  1  the chain is broken (the first broken position is named)
  2  the store cannot be opened or read, or arguments it cannot read
"""


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="contractledger verify-ledger",
        description="Walk the ledger's hash chain: intact with a count, or the first broken link.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "--application",
        default=DEFAULT_APPLICATION,
        help="the application whose ledger to verify: its name prefixes its settings and tables "
        f"(default {DEFAULT_APPLICATION}; '' for unprefixed tables)",
    )
    return command


def main(argv: list[str] | None = None) -> int:
    """Runs the command; returns the exit status."""
    arguments = parser().parse_args(argv)
    env = ledger_environment()
    name = arguments.application
    # Verifying must never create an empty ledger where the real one is missing.
    env["CREATE_TABLE"] = "no"
    if name:
        env[f"{name.upper()}_CREATE_TABLE"] = "no"
    factory = None
    try:
        check_persistence_module(env)
        try:
            factory = InfrastructureFactory.construct(Environment(name, env))
        except InfrastructureFactoryError as error:
            raise StoreConfigurationError("PERSISTENCE_MODULE", f"{error}.") from None
        recorder = factory.application_recorder()
        chained_events = getattr(recorder, "chained_events", None)
        if chained_events is None:
            raise StoreConfigurationError(
                "PERSISTENCE_MODULE",
                f"PERSISTENCE_MODULE={env['PERSISTENCE_MODULE']!r} keeps no hash chain, so there is nothing to verify.",
            )
        witnessed = getattr(recorder, "witnessed_hashes", None)
        verdict = verify(chained_events(), witnessed() if witnessed is not None else None)
    except StoreConfigurationError as error:
        print(f"verify-ledger: {error}", file=sys.stderr)
        return UNUSABLE
    except PersistenceError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"verify-ledger: cannot read the ledger of {name or 'the unnamed application'}: {reason}", file=sys.stderr)
        return UNUSABLE
    finally:
        if factory is not None:
            factory.close()
    print(verdict.sentence())
    return INTACT if verdict.intact else BROKEN


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
