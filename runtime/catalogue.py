"""Every view the runner keeps current (``python -m contractledger.runtime.views_runner``)."""

from __future__ import annotations

from contractledger.projections.bundle_consistency import BundleConsistencyView
from contractledger.projections.contract_history import ContractHistoryView
from contractledger.projections.contract_status import ContractStatusView
from contractledger.projections.dashboard import DashboardView
from contractledger.projections.directory import DirectoryView
from contractledger.projections.engine.view import View
from contractledger.projections.oversight_records import OversightRecordsView
from contractledger.projections.tasks_and_notifications import TasksAndNotificationsView
from contractledger.projections.transfer_requests import TransferRequestsView
from contractledger.sync.feed_view import FEED_VIEWS

VIEWS: tuple[type[View], ...] = (
    ContractStatusView,
    ContractHistoryView,
    OversightRecordsView,
    TasksAndNotificationsView,
    DirectoryView,
    BundleConsistencyView,
    TransferRequestsView,
    DashboardView,
    *FEED_VIEWS,
)
