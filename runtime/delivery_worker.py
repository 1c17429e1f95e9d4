"""The delivery worker's process as serve runs it (``python -m
contractledger.runtime.delivery_worker``): the service's log format, then
push delivery until SIGTERM (``sync.delivery``'s ``run``)."""

from __future__ import annotations

import sys

from contractledger.runtime import log_lines
from contractledger.store.errors import StoreConfigurationError
from contractledger.store.settings import Settings
from contractledger.sync import delivery


def main() -> int:
    try:
        found = Settings.read()
    except StoreConfigurationError as error:
        print(f"contractledger delivery: {error}", file=sys.stderr)
        return 2
    log_lines.configure("delivery_worker", found.environment, level=found.log_level)
    return delivery.main(["run"])


if __name__ == "__main__":
    sys.exit(main())
