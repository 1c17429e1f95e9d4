"""The console's routes, for the route registry (``http/catalogue.py``)."""

from __future__ import annotations

from contractledger.http.config import AppConfig
from contractledger.http.console.contracts import ContractList
from contractledger.http.console.dashboard import ContractingDashboard
from contractledger.http.console.home import Asset, Home
from contractledger.http.console.party import PartyPage
from contractledger.http.console.sessions import ConsoleSessions
from contractledger.http.console.sign_in import SignIn, SignInForm, SignOut
from contractledger.http.console.sync import ReplayForm, ResumeForm, SyncPage
from contractledger.http.console.timeline import ContractExport, ContractTimeline
from contractledger.http.routing import Handler


def routes(config: AppConfig) -> dict[str, list[Handler]]:
    sessions = ConsoleSessions(config.tokens)
    return {
        "/console": [Home(sessions)],
        "/console/sign-in": [SignInForm(sessions), SignIn(sessions)],
        "/console/sign-out": [SignOut(sessions)],
        "/console/assets/{asset}": [Asset(sessions)],
        "/console/contracts": [ContractList(sessions, config)],
        "/console/contracts/{contract_id:uuid}": [ContractTimeline(sessions, config)],
        "/console/contracts/{contract_id:uuid}/export": [ContractExport(sessions, config)],
        "/console/dashboard": [ContractingDashboard(sessions, config)],
        "/console/parties/{party_id:uuid}": [PartyPage(sessions, config)],
        "/console/sync": [SyncPage(sessions, config)],
        "/console/sync/{peer}/replay": [ReplayForm(sessions, config)],
        "/console/sync/{peer}/resume": [ResumeForm(sessions, config)],
    }
