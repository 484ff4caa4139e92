"""A fixed-window request counter in the cache, for pages anyone on the internet can
reach (a patient's link). With more than one server process the cache must be shared
(``CACHE_URL``, Redis) for the limit to hold across them."""

import time

from django.core.cache import cache


def over_limit(key: str, *, limit: int, window: int) -> bool:
    """Count one request under ``key``; True once more than ``limit`` came within the
    current ``window`` seconds."""
    bucket = f"ratelimit:{key}:{int(time.time() // window)}"
    if cache.add(bucket, 1, timeout=window):
        return limit < 1
    try:
        return cache.incr(bucket) > limit
    except ValueError:  # expired between the two calls
        cache.set(bucket, 1, timeout=window)
        return limit < 1
