"""The HTTP app on a real ledger (SQLite or PostgreSQL) with the views runner beside it, and
tokens for the principals of the views' contracting world (no tests here:
the HTTP tests' shared ground)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import falcon.testing

sys.path.insert(0, str(Path(__file__).parent))

from problems_answered import Recorder  # noqa: E402
from stores import ledger_env  # noqa: E402
from views_scenario import ContractingWorld  # noqa: E402

from contractledger.domain.actor import Actor  # noqa: E402
from contractledger.domain.clock import BUSINESS_TIME_ZONE_SETTING, SettableClock, business_zone_named  # noqa: E402
from contractledger.http.app import create_app  # noqa: E402
from contractledger.http.config import AppConfig  # noqa: E402
from contractledger.http.idempotency import IdempotentResponses  # noqa: E402
from contractledger.http.read_your_writes import PositionedLedger  # noqa: E402
from contractledger.http.tokens import TokenRegistry  # noqa: E402
from contractledger.runtime.catalogue import VIEWS  # noqa: E402
from contractledger.projections.engine.service import run_views  # noqa: E402
from contractledger.projections.engine.view_database import view_database_for  # noqa: E402
from contractledger.projections.engine.waiting import wait_until_applied  # noqa: E402


@dataclass
class Api:
    client: falcon.testing.TestClient
    config: AppConfig
    world: ContractingWorld
    clock: SettableClock

    def token(self, actor: Actor, lifetime: timedelta = timedelta(days=1)) -> str:
        return self.config.tokens.issue(actor, lifetime).secret

    def as_(self, actor: Actor) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(actor)}"}

    def position(self) -> int:
        return self.config.ledger.recorder.max_notification_id() or 0

    def caught_up(self) -> None:
        assert wait_until_applied(self.config.views, self.position(), [v.name for v in VIEWS], 20)


def running_api(
    tmp_path: Path, store: str = "sqlite", settings: dict[str, str] | None = None, start: datetime | None = None
) -> Iterator[Api]:
    """``settings`` are the service's own (such as the business time zone), read as the app reads them;
    ``start`` is the clock's first instant (now, by default)."""
    env = {**ledger_env(store, tmp_path), **(settings or {})}
    zone = business_zone_named(env.get(BUSINESS_TIME_ZONE_SETTING))
    clock = SettableClock(start or datetime.now(timezone.utc).replace(microsecond=0), business_zone=zone)
    ledger = PositionedLedger(env, clock)
    views = view_database_for(env)
    tokens = TokenRegistry(views, clock, ledger)
    tokens.ensure_schema()
    responses = IdempotentResponses(views, clock)
    responses.ensure_schema()
    config = AppConfig(
        ledger=ledger, views=views, tokens=tokens, responses=responses, clock=clock, wait_bound=10.0, views_kept=VIEWS
    )
    stop = threading.Event()
    runner = threading.Thread(target=run_views, args=(ledger.recorder, ledger.mapper, views, VIEWS, stop), daemon=True)
    runner.start()
    try:
        world = ContractingWorld(ledger, clock)
        app = create_app(config)
        app.add_middleware(Recorder())  # every problem answered is checked against the API document (conftest.py)
        api = Api(falcon.testing.TestClient(app), config, world, clock)
        api.caught_up()
        yield api
    finally:
        stop.set()
        runner.join(timeout=20)
        ledger.close()
        views.close()


def body(result: Any) -> Any:
    return result.json
