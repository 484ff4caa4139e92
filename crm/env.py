"""Strict parsing of configuration from environment variables.

A typo in production configuration must stop start-up with a message that names the
variable, never fall back silently to a default (``DEBUG=yes`` is an error, not False).
"""

import datetime
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "on"}
_FALSE = {"false", "0", "off"}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if "\x00" in value:
        raise ImproperlyConfigured(f"{name} contains a NUL character.")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean; use one of: true, false, 1, 0, on, off."
    )


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    items = [item.strip() for item in value.split(",")]
    if any(not item or " " in item for item in items):
        raise ImproperlyConfigured(
            f"{name}={value!r} must be a comma-separated list with no empty or spaced items."
        )
    return items


def env_choice(name: str, choices: list[str], default: str) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of: {', '.join(choices)}.")
    return value


def env_time_range(name: str, default: str) -> tuple[datetime.time, datetime.time]:
    """``HH:MM-HH:MM``: a daily span of time (it may cross midnight)."""
    value = env_str(name, default)
    try:
        start, end = (datetime.time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a span like 08:00-20:00.") from None
    if start == end:
        raise ImproperlyConfigured(f"{name}={value!r} starts and ends at the same time.")
    return start, end


def env_database(name: str, default: str) -> dict:
    """Parse DATABASE_URL; only PostgreSQL and SQLite are supported."""
    import dj_database_url

    url = env_str(name, default)
    if not url.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured(
            f"{name} must start with postgres://, postgresql:// or sqlite://"
            " (the URL is not echoed because it may hold a password)."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database.")
    return config
