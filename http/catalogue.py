"""The routes of the API and the console, in one list: what ``create_app``
serves and what ``/openapi.json`` documents (all but the console's pages)."""

from __future__ import annotations

from collections import defaultdict

from contractledger.http.console import routes as console_routes
from contractledger.http.commands.route import CommandHandler
from contractledger.http.config import AppConfig
from contractledger.http.health import Health
from contractledger.http.operations import Readiness, Scrape
from contractledger.http.problem_page import ProblemCode, ProblemList
from contractledger.http.queries import QueryHandler
from contractledger.http.reference import Reference, ReferenceAsset
from contractledger.http.resources import contracts, dashboard, exports, oversight, parties, queries, sync
from contractledger.http.routing import Handler, Route

COMMANDS = parties.COMMANDS + contracts.COMMANDS + oversight.COMMANDS


def routes(config: AppConfig, document: Handler) -> list[Route]:
    by_path: dict[str, list[Handler]] = defaultdict(list)
    for command in COMMANDS:
        by_path[command.path].append(CommandHandler(command, config))
    for query in queries.QUERIES + dashboard.QUERIES:
        by_path[query.path].append(QueryHandler(query, config))
    for path, handlers in sync.routes(config).items():
        by_path[path].extend(handlers)
    for path, handlers in exports.routes(config).items():
        by_path[path].extend(handlers)
    for path, handlers in console_routes.routes(config).items():
        by_path[path].extend(handlers)
    by_path["/health"].append(Health())
    by_path["/ready"].append(Readiness(config))
    by_path["/metrics"].append(Scrape(config))
    by_path["/openapi.json"].append(document)
    by_path["/problems"].append(ProblemList())
    by_path["/problems/{code}"].append(ProblemCode())
    by_path["/reference"].append(Reference())
    by_path["/reference/assets/{asset}"].append(ReferenceAsset())
    return [Route(path, handlers) for path, handlers in by_path.items()]
