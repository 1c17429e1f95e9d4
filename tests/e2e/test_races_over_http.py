"""Two writers at once against the served app (gunicorn workers, the views
runner), on each store: every race of contractledger/http/races.py runs a
few times, and every run must show exactly one serial order of the two
commands with answers that agree (scripts/race-loop runs them by the
hundred on PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from served import Server  # noqa: E402

from contractledger.http.races import RACES, RaceGround, report, run_races  # noqa: E402

RUNS = 3


@pytest.fixture(scope="module")
def ground(tmp_path_factory: pytest.TempPathFactory, store: str) -> Iterator[RaceGround]:
    server = Server(tmp_path_factory.mktemp(f"races-{store}"), workers=3, store=store)
    try:
        yield RaceGround(f"http://127.0.0.1:{server.port}", server.ledger, server.tokens)
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("race", sorted(RACES))
def test_two_writers_at_once_end_in_one_serial_order(ground: RaceGround, race: str) -> None:
    tallies = run_races(ground, RUNS, [race])
    assert tallies[race].clean == tallies[race].runs == RUNS, report(tallies)



def test_scripts_race_loop_runs_every_race_and_prints_its_counts(store: str) -> None:
    # the loop the counts come from serves the app itself: it must keep working
    # as the app's parts change (it once failed at start, before the first race)
    done = subprocess.run(
        [sys.executable, "-m", "contractledger.http.race_loop", "--runs", "1", "--workers", "2", "--store", store],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert f"{store}, 2 gunicorn workers, 1 runs of each race" in done.stdout
    counts = {}
    for line in done.stdout.splitlines():
        for race in RACES:
            if line.startswith(race):
                runs, clean = line[len(race):].split()[:2]
                counts[race] = (int(runs), int(clean))
    assert counts == {race: (1, 1) for race in RACES}, done.stdout
