"""``scripts/tokens``: issue, list and revoke bearer tokens.

    scripts/tokens issue --role operator --user olive          # the first step of a new deployment
    scripts/tokens issue --role agency_admin --user alice --party <uuid> [--days 30] [--label "..."]
    scripts/tokens issue --role auditor --user carol
    scripts/tokens issue --role sync_peer --user manage
    scripts/tokens list
    scripts/tokens revoke <token id>

The token is printed once, on issue; only its hash is kept. A token is
issued only as SPEC 1 allows (a party that exists, the role that fits its
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
from contractledger.projections.view_database import view_database_for
from contractledger.store.environment import ledger_environment
from contractledger.store.errors import StoreConfigurationError

ISSUABLE = [r.value for r in Role if r is not Role.SYSTEM]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/tokens", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    issue = verbs.add_parser("issue", help="issue a token and print it once")
    issue.add_argument("--role", required=True, choices=ISSUABLE)
    issue.add_argument("--user", required=True, help="who the token is for (a person, or the peer system's name)")
    issue.add_argument("--party", type=UUID, help="the party the user acts for (party roles only)")
    issue.add_argument("--days", type=float, default=30.0, help="lifetime in days (default 30)")
    issue.add_argument("--label", default="", help="a note to tell tokens apart in the listing")
    verbs.add_parser("list", help="list tokens (never their secrets)")
    revoke = verbs.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id")
    args = parser.parse_args(argv)

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
