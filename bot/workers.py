"""Who this process is among the workers sharing a database, and which of them are gone.

A worker's name is ``host:pid:random``. Leases expire on their own, so a
dead worker's feeds and channels are always taken over in the end; but a bot
restarted on the same machine after a crash should not wait out its own
leases. A lease whose owner ran on this host, under a process that no longer
exists (or under this very pid, which makes it an earlier life of this
process's pid), belongs to nobody and is reclaimed at start.
"""

from __future__ import annotations

import os
import secrets
import socket


def worker_id() -> str:
    """This process's name; the random part tells a restarted process from its past life."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def is_gone(owner: str, me: str) -> bool:
    """Whether ``owner`` is certainly dead: it ran on this host and its process is gone.

    An owner on another host is never judged from here; its lease runs out.
    """
    host, _, rest = owner.partition(":")
    pid_text, _, _token = rest.partition(":")
    if host != socket.gethostname() or owner == me or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # our pid, another name: a process before us that had the same pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, under another user
    return False
