"""The demo's GraphiQL: the demo API key in the page's headers, on loopback only.

`attendee-gateway serve --demo-key-file PATH` (what scripts/run passes) checks that it
listens on a loopback address and that the key in PATH is the demo clinic's own key, then
names the file to the server processes in DEMO_KEY_FILE_ENV, with the checked key's SHA-256
in DEMO_KEY_HASH_ENV (never the key: it is in no command line and no process environment).
Each process reads the file once and uses the key only when it is the one serve checked
(a file changed in between is ignored); the GraphiQL page served to a loopback client
carries it. Without the option the page carries no key at all.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth import hash_api_key
from app.models import metadata

ACCOUNT = metadata.tables["account"]
API_KEY = metadata.tables["api_key"]
DEMO_KEY_FILE_ENV = "ATTENDEE_GATEWAY_DEMO_KEY_FILE"
DEMO_KEY_HASH_ENV = "ATTENDEE_GATEWAY_DEMO_KEY_SHA256"
DEMO_ENVIRONMENT = (DEMO_KEY_FILE_ENV, DEMO_KEY_HASH_ENV)
DEMO_KEY_NAME = "Demo key"  # the label seed-demo gives its keys
DEMO_ACCOUNT_NAMES = ("Harbourside Physio",)  # the main demo clinic (seed-demo's key)
LOOPBACK_NAMES = ("localhost",)
# The page's placeholder for its configuration (app/static/graphiql.html).
PAGE_CONFIG_PLACEHOLDER = '<script id="gateway-config" type="application/json">{}</script>'


def is_loopback(host: str) -> bool:
    """127.0.0.1 (or any of 127/8), ::1 and localhost; never 0.0.0.0 or a public address."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_key(path: str | Path) -> str:
    """The key in the file (scripts/run's .demo-api-key: one line)."""
    return Path(path).read_text(encoding="utf-8").strip()


async def demo_key_problem(conn: AsyncConnection, key: str) -> str | None:
    """Why `key` is not the demo clinic's unrevoked demo key, or None when it is."""
    row = (
        await conn.execute(
            sa.select(API_KEY.c.name, API_KEY.c.revoked_at, ACCOUNT.c.name)
            .join(ACCOUNT, ACCOUNT.c.id == API_KEY.c.account_id)
            .where(API_KEY.c.key_hash == hash_api_key(key))
        )
    ).first()
    if row is None:
        return "it is not an API key of this database"
    name, revoked_at, account = row
    if revoked_at is not None:
        return "that key is revoked"
    if name != DEMO_KEY_NAME or account not in DEMO_ACCOUNT_NAMES:
        return "it is not the demo key that seed-demo made; only that key may go into the page"
    return None


def serve_environment(path: str | Path, key: str) -> dict[str, str]:
    """What `serve` puts in the server processes' environment for a checked demo key."""
    return {DEMO_KEY_FILE_ENV: str(Path(path).resolve()), DEMO_KEY_HASH_ENV: hash_api_key(key)}


def key_from_environment() -> str | None:
    """The demo key when `serve --demo-key-file` checked one for this process, else None."""
    path, checked = os.environ.get(DEMO_KEY_FILE_ENV), os.environ.get(DEMO_KEY_HASH_ENV)
    if not path or not checked:
        return None
    try:
        key = read_key(path)
    except OSError:
        return None
    return key if key and hash_api_key(key) == checked else None


def page_with_key(page: str, key: str | None, client_host: str | None) -> str:
    """The GraphiQL page with the demo key in its configuration, for a loopback client;
    otherwise the page as it is (no key)."""
    if key is None or client_host is None or not is_loopback(client_host):
        return page
    config = json.dumps({"demoKey": key})
    # Inside <script>: no "</script>" or "<!--" can come from the value.
    config = config.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return page.replace(
        PAGE_CONFIG_PLACEHOLDER,
        PAGE_CONFIG_PLACEHOLDER.replace("{}", config),
        1,
    )
