"""Keep the dashboard's server on this machine: Solara's settings that stop it connecting out.

Left to its defaults, ``solara run`` asks PyPI for Solara's latest version, and the server
reports its start, stop and daily use to Mixpanel (api.mixpanel.com) with an ID derived from
the MAC address and the public IP (asked of api.ipify.org), keeping another ID in
``~/.solara``. It also fetches any front-end file missing from the local copy (the package
solara-assets) from a CDN, and serves the page straight from that CDN when it thinks it is
under VS Code or Colab. None of that is wanted from a model run on someone's machine.

:data:`ENV` turns it off; :func:`keep_offline` puts it in the environment (read when Solara is
imported) and, when Solara is already imported (``solara run em_abm/viz/app.py``), sets it on
Solara's settings too, before the server starts. The version check runs in ``solara run``
itself, before the app is imported: only the flag in :data:`RUN_FLAGS` stops it, which
``em-abm dashboard`` passes.
"""

from __future__ import annotations

import os
import sys

# Where a front-end file missing from the local copy would be fetched from: not a network
# address, so the fetch fails without a connection (after Solara's retries, some 7 s) and the
# browser gets a 404. The dashboard's tests check that no file is missing.
NO_CDN = "local-files-only:/"

ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
    "SOLARA_TELEMETRY_MIXPANEL_TOKEN": "",
    # Fixed values in place of the ID derived from the MAC address and of the one Solara
    # would otherwise write to ~/.solara.
    "SOLARA_TELEMETRY_SERVER_USER_ID": "none",
    "SOLARA_TELEMETRY_SERVER_FINGERPRINT": "none",
    # The page's files from this server (the local copy), never from the CDN.
    "SOLARA_ASSETS_PROXY": "true",
    "SOLARA_ASSETS_CDN": NO_CDN,
}

RUN_FLAGS = ["--no-check-version", "--production", "--no-open"]


def keep_offline() -> None:
    """Put :data:`ENV` in the environment and on Solara's settings if already imported."""
    os.environ.update(ENV)
    if "solara.server.settings" in sys.modules:
        import solara.server.settings as server
        import solara.settings as base

        server.telemetry.mixpanel_enable = False
        server.telemetry.mixpanel_token = ""
        server.telemetry.server_user_id = server.telemetry.server_fingerprint = "none"
        base.assets.proxy = True
        base.assets.cdn = NO_CDN
