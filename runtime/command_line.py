"""The ``contractledger`` command: one entry for everything the service offers
on the command line, each subcommand the command of its own module.

    contractledger serve
    contractledger tokens issue --role operator --user olive
    contractledger verify-ledger

Only the name of the subcommand is read here; what follows it goes, as it
is, to that module's ``main(argv)``, whose parser (``parser()``) says what
it takes. A module is imported only when its subcommand runs, so
``contractledger --help`` reads no settings and opens no store.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType

PROG = "contractledger"


@dataclass(frozen=True)
class Subcommand:
    name: str
    module: str
    summary: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


SUBCOMMANDS = (
    Subcommand("serve", "contractledger.runtime.serve",
               "serve the API (gunicorn) with the views runner and the sync delivery worker beside it"),
    Subcommand("tokens", "contractledger.http.token_admin",
               "issue, list and revoke bearer tokens (on the server, never over the API)"),
    Subcommand("verify-ledger", "contractledger.store.verify",
               "walk the ledger's hash chain: intact with a count, or the first broken link"),
    Subcommand("export-history", "contractledger.projections.audit_export",
               "an auditor's export of a contract, a party or the whole ledger, with its hash-chain verdict"),
    Subcommand("rebuild-views", "contractledger.runtime.rebuild_views",
               "rebuild the views from the first event, blue/green, resumable"),
    Subcommand("reconcile", "contractledger.sync.reconcile_file",
               "compare a sync peer's export file with the ledger and print every discrepancy"),
    Subcommand("sync-deliver", "contractledger.sync.delivery",
               "push delivery to the sync peers, and the operator's dead letters"),
    Subcommand("race-loop", "contractledger.http.race_loop",
               "run every two-writer race against a served ledger and count the clean winners"),
)
BY_NAME = {command.name: command for command in SUBCOMMANDS}
HELP = {"-h", "--help"}

EPILOG = """\
Run "contractledger COMMAND --help" for what a command takes and the exit
status it returns. Settings are read from the environment (the README's
Configuration table); none is read before a command runs.

exit status:
  the command's own (see its --help)
  2  no command, or one this program does not have, or a bad setting (one
     sentence names it; nothing is started)
"""


def parser() -> argparse.ArgumentParser:
    """The command's parser: it lists the subcommands, and reads only which one is asked for."""
    top = argparse.ArgumentParser(
        prog=PROG,
        description="The system of record for insurance producer contracting, from the command line.",
        epilog=EPILOG,
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=24),
    )
    top.add_argument("--version", action="version", version=f"{PROG} {_version()}",
                     help="print the installed version and exit")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                  help="the command to run; what follows it is that command's own arguments")
    for command in SUBCOMMANDS:
        commands.add_parser(command.name, help=command.summary, add_help=False)
    return top


def _version() -> str:
    try:
        return metadata.version(PROG)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # the first word that is not an option of this command names the subcommand; the rest is its own
    split = next((i for i, word in enumerate(arguments) if not word.startswith("-")), len(arguments))
    chosen = parser().parse_args(arguments[: split + 1])
    own = arguments[split + 1:]
    if HELP.isdisjoint(own[: own.index("--")] if "--" in own else own):
        # every setting is checked before the command's module is even imported (some read the peers' files
        # as they load); a help reads none, so that it starts nothing
        from contractledger.runtime.settings import checked_settings
        from contractledger.store.errors import StoreConfigurationError
        from contractledger.sync.peer import PeerDefinitionError

        try:
            checked_settings()
        except (StoreConfigurationError, PeerDefinitionError) as error:
            print(f"{PROG}: {error}", file=sys.stderr)
            return 2
    return BY_NAME[chosen.command].load().main(own)


if __name__ == "__main__":
    sys.exit(main())
