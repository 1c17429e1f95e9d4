"""``scripts/rebuild-views``: rebuild every view, or one, from the first event.

    scripts/rebuild-views                 # all views, blue/green, then switch
    scripts/rebuild-views contract_status # one view by name
    scripts/rebuild-views --verify        # rebuild, compare with the live view, switch only if equal

Each view is filled into a fresh generation of its tables while the live one
keeps serving reads; the switch is one transaction. Killed, a rebuild resumes
where it stopped when run again. ``--verify`` brings the rebuilt and the live
generation to the same position and compares row counts and a content
checksum per table; any difference is printed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from contractledger.domain.clock import UnknownBusinessTimeZone
from contractledger.domain.ledger import ContractLedger
from contractledger.projections.engine.progress import Progress
from contractledger.projections.engine.rebuild import REBUILD_BATCH, rebuild, rebuild_all
from contractledger.projections.engine.replay import verify_against_live
from contractledger.projections.engine.view_database import ViewRunnerAlreadyRunning, view_database_for
from contractledger.runtime.catalogue import VIEWS
from contractledger.store.environment import ledger_environment
from contractledger.store.errors import StoreConfigurationError


REBUILD_EPILOG = """\
Each view is filled into a fresh generation of its tables while the live one
keeps serving reads; the switch is one transaction. Stopped, a rebuild goes
on where it stopped when run again. The store is the one the service uses
(PERSISTENCE_MODULE and its settings, read from the environment).

exit status:
  0  every view asked for was rebuilt and is live
  1  under --verify, a rebuilt view differs from the live one (it is kept
     aside; the live view is unchanged); or another process holds the view
  2  no view of that name, a bad setting, or arguments it cannot read
"""


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="contractledger rebuild-views",
        description="Rebuild every view, or the ones named, from the first event, blue/green.",
        epilog=REBUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    command.add_argument(
        "views", nargs="*", metavar="VIEW",
        help=f"the views to rebuild (default: all of {', '.join(v.name for v in VIEWS)})",
    )
    command.add_argument(
        "--verify", action="store_true",
        help="compare each rebuilt view with the live one, and switch to it only if they are equal",
    )
    command.add_argument(
        "--batch", type=int, default=REBUILD_BATCH, help=f"events per view transaction (default {REBUILD_BATCH})"
    )
    return command


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)

    by_name = {v.name: v for v in VIEWS}
    unknown = [name for name in args.views if name not in by_name]
    if unknown:
        print(f"rebuild-views: no view named {unknown[0]!r}; the views are: {', '.join(by_name)}", file=sys.stderr)
        return 2
    chosen = [by_name[name] for name in args.views] or list(VIEWS)

    env = ledger_environment()
    try:
        ledger = ContractLedger(env)
        database = view_database_for(env)
    except (StoreConfigurationError, UnknownBusinessTimeZone) as error:
        print(f"rebuild-views: {error}", file=sys.stderr)
        return 2
    head = ledger.recorder.max_notification_id() or 0
    different = False
    try:
        if not args.verify:
            # every chosen view in one pass: each event read and decoded once
            progress = Progress(", ".join(v.name for v in chosen) if len(chosen) < 3 else "all views", head)
            try:
                done_all = rebuild_all(
                    ledger.recorder, ledger.mapper, database, chosen, batch_size=args.batch, on_batch=progress.advance
                )
            except ViewRunnerAlreadyRunning as busy:
                print(f"rebuild-views: {busy}", file=sys.stderr)
                return 1
            progress.finish()
            for done in done_all:
                resumed = f" (resumed from {done.resumed_from:,})" if done.resumed_from else ""
                print(f"{done.view}: generation {done.generation} is live at position {done.position:,}{resumed}")
            return 0
        for view_class in chosen:
            progress = Progress(view_class.name, head)
            try:
                done = rebuild(
                    ledger.recorder, ledger.mapper, database, view_class,
                    batch_size=args.batch, on_batch=progress.advance, switch=not args.verify,
                )
            except ViewRunnerAlreadyRunning as busy:
                print(f"rebuild-views: {busy}", file=sys.stderr)
                return 1
            progress.finish()
            resumed = f" (resumed from {done.resumed_from:,})" if done.resumed_from else ""
            if args.verify:
                differences = verify_against_live(ledger.recorder, ledger.mapper, database, view_class, done.generation)
                if differences:
                    different = True
                    for sentence in differences:
                        print(f"DIFFERENT {sentence}")
                    print(f"{view_class.name}: generation {done.generation} kept aside; the live view is unchanged")
                    continue
                done = rebuild(ledger.recorder, ledger.mapper, database, view_class, batch_size=args.batch)
                print(f"{view_class.name}: equal to the live view; ", end="")
            print(f"{view_class.name}: generation {done.generation} is live at position {done.position:,}{resumed}")
    finally:
        database.close()
        ledger.close()
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
