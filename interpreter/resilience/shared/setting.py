"""The store setting: `sqlite` (a file under the home: every session of one person on one machine shares it),
`redis://host:port/db` (sessions on several machines share one budget), or `off` (each session limits itself alone).

Light on purpose: the settings are checked at every start, before anything heavy is imported.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from interpreter.errors import ConfigError
from interpreter.trust.redaction import redact_url

SQLITE, OFF = "sqlite", "off"
DEFAULT_STORE = SQLITE
REDIS_SCHEMES = ("redis", "rediss")
_CHOICES = f'"{SQLITE}", "{OFF}" or a Redis URL like redis://localhost:6379/0'


def check_setting(value: str) -> None:
    """Raise ConfigError, saying what would do, unless `value` names a store."""
    if value in (SQLITE, OFF):
        return
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port that is not a number
        port_ok = False
    database = parts.path.strip("/")
    if parts.scheme in REDIS_SCHEMES and parts.hostname and port_ok and (not database or database.isdigit()):
        return
    raise ConfigError(f"rate_limit_store must be {_CHOICES}, got {redact_url(value)!r}")
