"""The node process's C heap: freed memory handed back to the system, and few malloc arenas.

Each lifecycle activation starts a new inference thread and new subscriptions; glibc gives threads their own
malloc arenas, and multi-megabyte images received on one thread and freed on another leave those arenas holding
freed but unreturned pages: about 25 MB of resident memory per deactivate/activate cycle with a 1080p stream,
none of it reachable (bench/node_lifecycle_memory.py). Two arenas and a trim after every transition that stops
input keep the resident size flat. Elsewhere than glibc both are no-ops.
"""

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2


def _glibc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _glibc()


def limit_arenas(count: int = ARENAS) -> bool:
    """At most `count` malloc arenas for threads created from now on; True where glibc took it."""
    return bool(_LIBC and _LIBC.mallopt(M_ARENA_MAX, count))


def hand_back_free_memory() -> bool:
    """Returns freed heap pages to the system; True where glibc released any."""
    return bool(_LIBC and _LIBC.malloc_trim(0))
