"""Environment defaults that keep every library offline and quiet (a user's setting wins).

Imported before Prefect, Great Expectations or torch load, since they read these at import.
"""

from __future__ import annotations

import os

PHONE_HOME_OFF = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "SDV_DISABLE_TELEMETRY": "1",
    # A fresh PREFECT_HOME on 2 cores can take more than Prefect's default 20 s to start.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def quiet_defaults(extra: dict[str, str] | None = None) -> None:
    """Set the phone-home-off defaults (and ``extra``) unless the user set them."""
    for key, value in {**PHONE_HOME_OFF, **(extra or {})}.items():
        os.environ.setdefault(key, value)
