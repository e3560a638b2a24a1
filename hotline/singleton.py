"""A singleton job's lease: which process runs it, and how another takes over. Used by
every job that one process at a time must run (the reminder planner, the spike analysis).

On PostgreSQL the holder is the process whose dedicated connection holds the session
advisory lock (
`pg_try_advisory_lock`); the others try again every round. When the holder stops it unlocks;
when it dies its connection closes and the server drops the lock with it. A holder that
hangs without closing its connection (a frozen host, a cut network) would keep the lock for
ever, so the lock's connection also carries `idle_session_timeout = lease`: the holder
renews by touching it every round (well inside the lease), and a holder silent for a whole
lease has its session ended by the server, which frees the lock. Another process thus takes
over at most one lease and one round after the holder goes silent, and one round after its
connection closes.

On SQLite there is one process and no server to hold a lock: the lease is always held. A
job must therefore make its own writes idempotent (the spike analysis claims each hour's
row; the planner marks each reminder planned in the batch that queues it): the lease only
saves the work.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

# Whether this session holds the session-level advisory lock `key` (a bigint key is stored
# as classid = its high 32 bits, objid = its low 32 bits, objsubid = 1).
HOLDS = text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
             "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
             "AND classid::bigint = (CAST(:key AS bigint) >> 32) "
             "AND objid::bigint = (CAST(:key AS bigint) & 4294967295))")


class LeaseLock:
    """Blocking calls: run them in the database's thread pool. The holder must call
    `try_acquire` more often than every `lease_s`, or it loses the lease."""

    def __init__(self, engine: Engine, key: int, lease_s: float) -> None:
        self._engine = engine
        self._key = key
        self._lease_ms = max(1, int(lease_s * 1000))
        self._connection: Connection | None = None

    @property
    def needed(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    @property
    def held(self) -> bool:
        return not self.needed or self._connection is not None

    def try_acquire(self) -> bool:
        """Renew the lease if held (False if it was lost meanwhile and is not free), else
        take it if free."""
        if not self.needed:
            return True
        if self._connection is not None:
            try:
                # Ask for the lock, not just the connection: a connection silently replaced
                # (reconnected after an invalidation) no longer holds it.
                held = self._connection.scalar(HOLDS, {"key": self._key})
                self._connection.commit()
            except DBAPIError:  # the session ended (the lease ran out), and the lock with it
                held = False
            if held:
                return True
            self._discard()
        connection = self._engine.connect()
        try:
            held = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key})
            if held and (connection.dialect.server_version_info or (0,)) >= (14,):
                # Before PostgreSQL 14 there is no such setting: a hung holder then keeps
                # the lock until TCP keepalive notices it gone.
                connection.exec_driver_sql(f"SET idle_session_timeout = {self._lease_ms}")
            connection.commit()
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        if held:
            self._connection = connection
            return True
        connection.close()
        return False

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
            self._connection.commit()
        except DBAPIError:
            pass  # the session is gone, and the lock with it
        self._discard()

    def _discard(self) -> None:
        # Never back to the pool: the connection carries the lease's idle timeout.
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()
            connection.close()
        except DBAPIError:
            pass
