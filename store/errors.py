"""Start-up failures of a store, said in one sentence naming the setting."""

from __future__ import annotations


class StoreConfigurationError(Exception):
    """Bad configuration found when a store starts: which setting, and why.

    The serve and script entry points print ``str(error)`` and exit non-zero,
    never a traceback.
    """

    def __init__(self, setting: str, sentence: str) -> None:
        super().__init__(sentence)
        self.setting = setting
