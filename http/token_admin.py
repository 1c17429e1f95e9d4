"""``scripts/tokens``: issue, list and revoke bearer tokens.

    scripts/tokens issue --role operator --user olive          # the first step of a new deployment
    scripts/tokens issue --role agency_admin --user alice --party <uuid> [--days 30] [--label "..."]
    scripts/tokens issue --role auditor --user carol
    scripts/tokens issue --role sync_peer --user manage
    scripts/tokens list
    scripts/tokens revoke <token id>

The token is printed once, on issue; only its hash is kept. A token is
issued only as rules §1 allows (a party that exists, the role that fits its
kind: carrier_staff, agency_admin, producer); anything else is refused with
one sentence and exit status 2. Tokens are issued here, on the server, and
never over the API: a token's secret is never in an HTTP answer.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from uuid import UUID

from contractledger.domain.actor import Actor, Role
from contractledger.domain.clock import SystemClock, UnknownBusinessTimeZone
from contractledger.domain.errors import LedgerError
from contractledger.domain.ledger import ContractLedger
from contractledger.http.tokens import TokenRegistry
from contractledger.projections.engine.view_database import view_database_for
from contractledger.store.environment import ledger_environment
from contractledger.store.errors import StoreConfigurationError

ISSUABLE = [r.value for r in Role if r is not Role.SYSTEM]


TOKENS_EPILOG = """\
The token is printed once, on issue; only its hash is kept. A token is
issued only for a party that exists, with the role that fits its kind
(carrier_staff for a carrier, agency_admin for an agency, producer for an
advisor); operator, auditor and sync_peer tokens act for no party.

exit status:
  0  done
  1  revoke: no live token has that id
  2  a token the rules do not allow, a bad setting, or arguments it cannot read
"""


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="contractledger tokens",
        description="Issue, list and revoke bearer tokens, on the server: a token's secret\n"
        "never travels in an HTTP answer.",
        epilog=TOKENS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = command.add_subparsers(dest="verb", required=True, metavar="ACTION", help="what to do with tokens")
    issue = verbs.add_parser(
        "issue", help="issue a token and print it once",
        description="Issue a token and print its secret once, on standard output (its id\n"
        "and expiry go to standard error).",
        epilog="exit status:\n  0  issued\n  2  refused (it says why), a bad setting, or arguments it cannot read",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    issue.add_argument(
        "--role", required=True, choices=ISSUABLE, metavar="ROLE",
        help=f"the role the token acts in: one of {', '.join(ISSUABLE)}",
    )
    issue.add_argument("--user", required=True, help="who the token is for (a person, or the peer system's name)")
    issue.add_argument(
        "--party", type=UUID,
        help="the id of the party the user acts for (carrier_staff, agency_admin and producer only)",
    )
    issue.add_argument("--days", type=float, default=30.0, help="lifetime in days (default 30)")
    issue.add_argument("--label", default="", help="a note to tell tokens apart in the listing")
    verbs.add_parser(
        "list", help="list tokens (never their secrets)",
        description="List every token: its id, role, user, party, expiry or revocation,\n"
        "and label; never its secret.",
        epilog="exit status:\n  0  listed\n  2  a bad setting, or arguments it cannot read",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    revoke = verbs.add_parser(
        "revoke", help="revoke a token by its id",
        description="Revoke a token: from now on every request made with it is refused.",
        epilog="exit status:\n  0  revoked\n  1  no live token has that id\n  2  a bad setting, or arguments it cannot read",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    revoke.add_argument("token_id", help="the token's id, as printed on issue and by list")
    return command


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)

    env = ledger_environment()
    try:
        ledger = ContractLedger(env)
        registry = TokenRegistry(view_database_for(env), SystemClock.from_settings(env), ledger)
        registry.ensure_schema()
    except (StoreConfigurationError, UnknownBusinessTimeZone) as error:
        print(f"tokens: {error}", file=sys.stderr)
        return 2
    try:
        return _run(args, registry)
    finally:
        ledger.close()
        registry.database.close()


def _run(args: argparse.Namespace, registry: TokenRegistry) -> int:
    if args.verb == "issue":
        try:
            issued = registry.issue(
                Actor(Role(args.role), args.user, args.party), timedelta(days=args.days), args.label
            )
        except (LedgerError, OverflowError, ValueError) as error:
            message = error.message if isinstance(error, LedgerError) else "Give the lifetime as a number of days, such as 30."
            print(f"tokens: {message}", file=sys.stderr)
            return 2
        print(f"token id: {issued.token_id}  expires: {issued.expires_at.isoformat()}", file=sys.stderr)
        print(issued.secret)
        return 0
    if args.verb == "list":
        for token in registry.listing():
            state = f"revoked {token.revoked_at}" if token.revoked_at else f"expires {token.expires_at}"
            party = f" party {token.actor.party_id}" if token.actor.party_id else ""
            print(f"{token.token_id}  {token.actor.role.value:<13} {token.actor.user}{party}  {state}  {token.label}")
        return 0
    if registry.revoke(args.token_id):
        print(f"revoked {args.token_id}")
        return 0
    print(f"tokens: no live token with id {args.token_id}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
