"""``scripts/tokens`` on each store (rules §1, Who registers whom): a new
deployment's first step makes an operator token on an empty ledger; a token
for a party that does not exist, or with a role that does not fit the
party's kind, is refused with one sentence and exit status 2, and nothing is
stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).parent))

from stores import ledger_env  # noqa: E402

from contractledger.domain.actor import Actor, Role  # noqa: E402
from contractledger.domain.clock import SystemClock  # noqa: E402
from contractledger.domain.ledger import ContractLedger  # noqa: E402
from contractledger.http.tokens import TokenRegistry  # noqa: E402
from contractledger.projections.engine.view_database import view_database_for  # noqa: E402

STORE_KEYS = ("POSTGRES_", "SQLITE_", "PERSISTENCE_")


def tokens(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    process_env = {k: v for k, v in os.environ.items() if not k.startswith(STORE_KEYS)}
    return subprocess.run(
        [sys.executable, "-m", "contractledger.http.token_admin", *arguments],
        env={**process_env, **env}, capture_output=True, text=True, timeout=60,
    )


def test_the_token_script_issues_only_for_a_party_that_exists_with_the_role_that_fits(tmp_path: Path, store: str) -> None:
    env = ledger_env(store, tmp_path)
    first = tokens(env, "issue", "--role", "operator", "--user", "olive")  # a new deployment's first step
    assert first.returncode == 0, first.stderr
    ledger = ContractLedger(env)
    views = view_database_for(env)
    try:
        registry = TokenRegistry(views, SystemClock(), ledger)
        assert registry.authenticate(first.stdout.strip()) == Actor(Role.OPERATOR, "olive")
        agency = ledger.register_party(Actor.system(), "agency", {"name": "Summit MGA"}, level="MGA")
        nobody = uuid4()
        for arguments, sentence in (
            (("--role", "agency_admin", "--party", str(nobody)), f"There is no party {nobody}; register it first, or check the id."),
            (("--role", "carrier_staff", "--party", str(agency)),
             f"Party {agency} is an agency, and carrier_staff is the role for a carrier; issue an agency_admin token for it."),
        ):
            refused = tokens(env, "issue", "--user", "mallory", *arguments)
            assert (refused.returncode, refused.stdout, refused.stderr) == (2, "", f"tokens: {sentence}\n")
        assert [t.actor for t in registry.listing()] == [Actor(Role.OPERATOR, "olive")]  # nothing else stored
        fitting = tokens(env, "issue", "--role", "agency_admin", "--user", "alice", "--party", str(agency))
        assert fitting.returncode == 0, fitting.stderr
        assert registry.authenticate(fitting.stdout.strip()) == Actor(Role.AGENCY_ADMIN, "alice", agency)
    finally:
        ledger.close()
        views.close()
