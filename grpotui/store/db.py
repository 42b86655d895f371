"""The run store: one SQLite file per run, the only module that speaks SQL.

The runner owns the schema and writes; any number of readers (the dashboard, ``ls``, ``export``)
read at the same time. WAL mode keeps readers and the writer out of each other's way, and
readers keep their transactions short so the WAL can be checkpointed. Standard library only.

How the schema changes (every change follows this):

1. Bump ``SCHEMA_VERSION`` and add a step to ``_MIGRATIONS`` that takes a store of the version before
   to this one (``ALTER TABLE ... ADD COLUMN``, ``CREATE TABLE / INDEX IF NOT EXISTS``; never a
   rewrite of existing rows). ``_SCHEMA`` is always the newest schema, for new stores.
2. The writing side (``RunStore.open(readonly=False)``: the process that records the run) applies the
   missing steps when it opens an older store, in one transaction. Readers open stores read-only and
   never migrate, nor do writes from outside the run (``migrate=False``: notes, commands, verdicts).
3. Readers keep reading every older version: a table or column that is not there means "not
   recorded", never an error (see ``_has_column`` and the reads that use it).
4. A store newer than this code is refused with a message that says to upgrade.

Versions: 1, the first; 2, verdicts judged off the training thread (``verdict = 'pending'`` until the
judge process fills it, ``verdict_reason`` for why a check gave up) and ``curve_buckets``, the
downsampled curves that let any run open at once (a store without them is read step by step); 3,
per-prompt statistics (each group's counts, its question and dataset row, and the ``prompts`` table: see
:mod:`grpotui.store.prompts`; a reader of an older store computes them once, in memory), and each alert's
``evidence`` (the steps and groups that tripped it) and ``notifications`` (what was sent where, and how
it went); 4, held-out evaluations (``evals`` and ``eval_completions``: see :mod:`grpotui.store.evals`).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpotui.store import evals as _evals
from grpotui.store import prompts as _prompts

SCHEMA_VERSION = 4
PENDING = "pending"  # the verdict of a completion not yet judged (its expected answer is known)

ACTIVE_STATUSES = ("starting", "running", "paused", "pausing", "stopping")
ENDED_STATUSES = ("finished", "stopped", "failed", "killed", "lost")
STATUSES = ("starting", "running", "pausing", "paused", "stopping", *ENDED_STATUSES[:-1], "lost")
COMMANDS = ("pause", "resume", "stop", "kill")

# Exit codes, everywhere: the runner's, the CLI's and the one recorded in the store.
EXIT_FINISHED, EXIT_FAILED, EXIT_USAGE, EXIT_HEALTH, EXIT_STOPPED, EXIT_KILLED = 0, 1, 2, 3, 4, 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    backend TEXT,
    model TEXT,
    host TEXT,
    pid INTEGER,
    pid_create_time REAL,
    uid INTEGER,
    max_steps INTEGER,
    status TEXT NOT NULL,
    status_reason TEXT,
    exit_code INTEGER,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    heartbeat_at REAL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    step INTEGER
);
CREATE TABLE IF NOT EXISTS metrics (
    step INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    data TEXT NOT NULL,
    reward REAL,
    has_reward INTEGER
);
CREATE TABLE IF NOT EXISTS groups (
    step INTEGER NOT NULL,
    grp INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    expected TEXT,
    question TEXT,
    row INTEGER,
    pkey TEXT,
    n INTEGER,
    n_right INTEGER,
    n_pending INTEGER,
    reward_sum REAL,
    reward_n INTEGER,
    zero_spread INTEGER,
    UNIQUE (step, grp)
);
CREATE TABLE IF NOT EXISTS completions (
    step INTEGER NOT NULL,
    grp INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    completion TEXT NOT NULL,
    answer TEXT,
    verdict TEXT,
    reward REAL,
    rewards TEXT,
    advantage REAL,
    length INTEGER,
    verdict_reason TEXT,
    UNIQUE (step, grp, idx)
);
CREATE INDEX IF NOT EXISTS completions_pending ON completions (step, grp, idx) WHERE verdict = 'pending';
CREATE TABLE IF NOT EXISTS curve_buckets (
    size INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (size, bucket)
);
CREATE INDEX IF NOT EXISTS groups_pkey ON groups (pkey, step, grp);
CREATE TABLE IF NOT EXISTS system (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    step INTEGER,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    step INTEGER,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    action TEXT,
    vals TEXT,
    evidence TEXT
);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    event TEXT NOT NULL,
    rule TEXT,
    step INTEGER,
    channel TEXT NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY,
    t REAL NOT NULL,
    command TEXT NOT NULL,
    uid INTEGER,
    taken_at REAL,
    taken_step INTEGER,
    result TEXT
);
""" + _prompts.PROMPTS_TABLE.format(db="") + ";\n" + _evals.TABLES + ";\n"


# Step n takes a store of version n - 1 to version n (see the module's docstring).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    2: (
        "ALTER TABLE completions ADD COLUMN verdict_reason TEXT",
        "CREATE INDEX IF NOT EXISTS completions_pending ON completions (step, grp, idx) WHERE verdict = 'pending'",
        "CREATE TABLE IF NOT EXISTS curve_buckets (size INTEGER NOT NULL, bucket INTEGER NOT NULL,"
        " data TEXT NOT NULL, PRIMARY KEY (size, bucket))",
        "ALTER TABLE metrics ADD COLUMN reward REAL",
        "ALTER TABLE metrics ADD COLUMN has_reward INTEGER",
    ),
    3: ("ALTER TABLE alerts ADD COLUMN evidence TEXT",
        "CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY, t REAL NOT NULL, event TEXT NOT NULL,"
        " rule TEXT, step INTEGER, channel TEXT NOT NULL, ok INTEGER NOT NULL, detail TEXT)",
        *_prompts.MIGRATION),  # SQL, then a function of the connection that fills what the SQL added
    4: (*_evals.MIGRATION, lambda c: _keep_best_reward(c)),  # (defined below)
}
# Set in stores whose every metrics row has ``reward`` / ``has_reward`` filled (new ones; a migrated store
# has rows from before): readers use those columns instead of parsing every row's JSON.
REWARD_COLUMN_KEY = "reward_column"

# The reward's best trailing mean over REWARD_WINDOW logged steps and the step it ends at, kept by the
# writer in the meta table as steps are logged (``{"n": rewards logged, "last": their last step, "best",
# "step"}``): a long run's headline never reads every step. Stores without it are read step by step.
BEST_REWARD_KEY = "best_reward"
REWARD_WINDOW = 50


def reward_window(n: int) -> int:
    """Steps averaged for a run's final and best reward: 1/20 of its ``n`` logged rewards, 1 to 50."""
    return max(1, min(REWARD_WINDOW, n // 20))


def reward_figures(rewards: Sequence[tuple[int, float | None]], w: int | None = None,
                   ) -> tuple[float | None, float | None, int | None, int]:
    """``(final, best, best step, window)`` from ``[(step, reward)]`` of every step that logged one (None or
    NaN where it was not finite): the mean of the last ``w`` and the best trailing mean over ``w`` (of
    their finite values; the earliest of equal ones)."""
    w = reward_window(len(rewards)) if w is None else w
    vals = [r if r is not None and math.isfinite(r) else None for _, r in rewards]
    tail = [v for v in vals[-w:] if v is not None]
    final = sum(tail) / len(tail) if tail else None
    best = best_step = None
    total, count = 0.0, 0
    for i, v in enumerate(vals):
        if v is not None:
            total, count = total + v, count + 1
        if i >= w and vals[i - w] is not None:
            total, count = total - vals[i - w], count - 1
        if i >= w - 1 and count and (best is None or total / count > best):
            best, best_step = total / count, rewards[i][0]
    return final, best, best_step, w


def _best_reward_state(c: sqlite3.Connection, before: int | None = None) -> dict[str, Any]:
    """BEST_REWARD_KEY's value computed from every logged reward (before step ``before``)."""
    rows = c.execute("SELECT step, reward FROM metrics WHERE has_reward = 1 AND step < ? ORDER BY step",
                     (before if before is not None else 2**62,)).fetchall()
    _, best, best_step, _ = reward_figures(rows, REWARD_WINDOW)
    return {"n": len(rows), "last": rows[-1][0] if rows else -1, "best": best, "step": best_step}


def _keep_best_reward(c: sqlite3.Connection) -> None:
    """Migration to 4: the best reward kept for a store whose every row has the reward's own column."""
    if c.execute("SELECT value FROM meta WHERE key = ?", (REWARD_COLUMN_KEY,)).fetchone() == ("1",):
        c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (BEST_REWARD_KEY, _dumps(_best_reward_state(c))))


# The curves' summary: every numeric metric's extremes (and their steps), sum and count over buckets of
# these many steps, written as each bucket completes. A reader of a long run reads the buckets of one
# size (at most ~1,000 rows) and the raw steps after the last complete one, never every step.
BUCKET_SIZES = (16, 64, 256, 1024, 4096)
SUMMARY_MAX_BUCKETS = 1000


class StoreError(Exception):
    """The store cannot be opened or read: the message says which file and why."""


@dataclass(frozen=True)
class Completion:
    """One sampled completion, as recorded."""

    idx: int
    completion: str
    answer: str | None
    verdict: str | None
    reward: float | None
    rewards: dict[str, float | None]
    advantage: float | None
    length: int | None
    verdict_reason: str | None = None


@dataclass(frozen=True)
class Group:
    """The completions of one prompt at one step."""

    step: int
    grp: int
    prompt: str
    expected: str | None
    completions: tuple[Completion, ...] = field(default_factory=tuple)

    @property
    def rewards(self) -> list[float]:
        return [c.reward for c in self.completions if c.reward is not None and math.isfinite(c.reward)]

    @property
    def spread(self) -> float:
        r = self.rewards
        return (max(r) - min(r)) if r else 0.0


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), default=str)


def _fold(acc: dict[str, list[float]], step: int, metrics: dict[str, Any]) -> None:
    """Fold one step into a bucket: per key ``[step of min, min, step of max, max, sum, count]``; a
    non-finite value is kept as both extremes (a NaN must stay visible on the curve)."""
    for key, v in metrics.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        v = float(v)
        a = acc.get(key)
        if not math.isfinite(v):
            acc[key] = [step, v, step, v, a[4] if a else 0.0, a[5] if a else 0]
            continue
        if a is None:
            acc[key] = [step, v, step, v, v, 1]
            continue
        if math.isfinite(a[1]) and v < a[1]:
            a[0], a[1] = step, v
        if math.isfinite(a[3]) and v > a[3]:
            a[2], a[3] = step, v
        a[4] += v
        a[5] += 1


def as_float(x: Any) -> float | None:
    """``float(x)``, or None where it is not a number."""
    if x is None:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


class RunStore:
    """A connection to one run's SQLite file.

    ``RunStore.create`` makes a new store (the launcher); ``RunStore.open`` opens an existing
    one, read-only by default (readers), or for writing (the runner, control commands).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._conn = conn
        self._lock = threading.RLock()
        self._columns: dict[str, set[str]] = {}
        self._pstats: str | None = None  # a store before schema 3: its prompts, computed once (see _prompt_db)
        self._buckets: dict[int, tuple[int, dict[str, list[float]]]] | None = None  # size -> open bucket
        self._best_reward: dict[str, Any] | None = None  # the writer's copy of BEST_REWARD_KEY
        self._last_metrics_step = -1 if readonly else self._max_metrics_step()

    # ---------------------------------------------------------------- opening
    @classmethod
    def create(
        cls,
        path: Path,
        *,
        name: str,
        kind: str,
        config: dict[str, Any],
        max_steps: int | None = None,
        model: str | None = None,
        backend: str | None = None,
    ) -> RunStore:
        """Create the store file (0600) with its schema and the run row, status ``starting``."""
        if path.exists():
            raise StoreError(f"{path}: a store already exists there")
        old = os.umask(0o077)
        try:
            store = cls._connect(path, readonly=False)
        finally:
            os.umask(old)
        store._conn.executescript(_SCHEMA)
        now = time.time()
        with store._tx() as c:
            c.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            c.execute("INSERT INTO meta VALUES (?, '1')", (REWARD_COLUMN_KEY,))
            c.execute(
                "INSERT INTO run (id, name, kind, config, backend, model, max_steps, status, created_at, uid)"
                " VALUES (1, ?, ?, ?, ?, ?, ?, 'starting', ?, ?)",
                (name, kind, _dumps(config), backend, model, max_steps, now, os.getuid()),
            )
            c.execute("INSERT INTO events (t, status, reason) VALUES (?, 'starting', 'created')", (now,))
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(path) + suffix)
            if p.exists():
                os.chmod(p, 0o600)
        return store

    @classmethod
    def open(cls, path: Path, *, readonly: bool = True, migrate: bool = True) -> RunStore:
        """Open a store. A writer migrates an older one to this schema unless ``migrate`` is False: the
        writes that come from outside the run (a note, a command, a verdict, a notification's outcome)
        fit every schema, and an old store's migration can read every completion once."""
        if not path.exists():
            raise StoreError(f"{path}: no run store there")
        store = cls._connect(path, readonly=readonly)
        store._check_schema()
        if not readonly and migrate and store.schema_version < SCHEMA_VERSION:
            store._migrate()
        return store

    def _migrate(self) -> None:
        """Bring an older store up to ``SCHEMA_VERSION`` (the writing side only), in one transaction."""
        try:
            with self._tx() as c:
                for version in range(self.schema_version + 1, SCHEMA_VERSION + 1):
                    for sql in _MIGRATIONS[version]:
                        sql(c) if callable(sql) else c.execute(sql)
                c.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: cannot upgrade the store from schema {self.schema_version} "
                             f"to {SCHEMA_VERSION} ({e})") from e
        self.schema_version = SCHEMA_VERSION
        self._columns.clear()

    def _has_column(self, table: str, column: str) -> bool:
        """Whether this store records ``table.column`` (older stores lack newer columns)."""
        if table not in self._columns:
            rows = self._read(f"PRAGMA table_info({table})")
            self._columns[table] = {r[1] for r in rows}
        return column in self._columns[table]

    @classmethod
    def _connect(cls, path: Path, *, readonly: bool) -> RunStore:
        try:
            if readonly:
                conn = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False,
                    isolation_level=None,
                )
            else:
                conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path}: cannot open the run store ({e})") from e
        return cls(path, conn, readonly=readonly)

    def _check_schema(self) -> None:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a grpotui run store, or damaged ({e})") from e
        version = int(row[0]) if row else 0
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer grpotui (store schema {version}; this grpotui reads "
                f"up to {SCHEMA_VERSION}): upgrade grpotui to read it"
            )
        if version < 1:
            raise StoreError(f"{self.path}: unknown store schema {version}")
        self.schema_version = version

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; writes are batched into one of these.

        ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the busy timeout): a deferred
        transaction that reads and then writes fails at once if another process wrote in between.
        """
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            else:
                c.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except (sqlite3.DatabaseError, sqlite3.ProgrammingError, OverflowError) as e:
                # ProgrammingError: closed meanwhile; OverflowError: a number SQLite cannot hold
                raise StoreError(f"{self.path}: cannot read ({e})") from e

    def _max_metrics_step(self) -> int:
        try:
            row = self._conn.execute("SELECT MAX(step) FROM metrics").fetchone()
        except sqlite3.DatabaseError:
            return -1  # a store being created: no table yet
        return row[0] if row and row[0] is not None else -1

    # ---------------------------------------------------------------- runner side
    def set_process(self, *, pid: int, create_time: float | None, host: str) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE run SET pid=?, pid_create_time=?, host=?, uid=? WHERE id=1",
                (pid, create_time, host, os.getuid()),
            )

    def update_run(self, **fields: Any) -> None:
        """Set columns of the run row (``backend``, ``model``, ``max_steps``, ``summary``...)."""
        allowed = {"backend", "model", "max_steps", "summary", "config", "started_at"}
        bad = set(fields) - allowed
        if bad:
            raise ValueError(f"not run fields: {sorted(bad)}")
        vals = [_dumps(v) if k in ("summary", "config") else v for k, v in fields.items()]
        sets = ", ".join(f"{k}=?" for k in fields)
        with self._tx() as c:
            c.execute(f"UPDATE run SET {sets} WHERE id=1", vals)

    def set_status(
        self, status: str, reason: str | None = None, *, step: int | None = None, exit_code: int | None = None
    ) -> None:
        """Record a status change (and, for an ended status, the end time and exit code)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        now = time.time()
        with self._tx() as c:
            c.execute("INSERT INTO events (t, status, reason, step) VALUES (?, ?, ?, ?)", (now, status, reason, step))
            if status in ENDED_STATUSES:
                c.execute(
                    "UPDATE run SET status=?, status_reason=?, exit_code=?, ended_at=? WHERE id=1",
                    (status, reason, exit_code, now),
                )
            elif status == "running":
                c.execute(
                    "UPDATE run SET status=?, status_reason=?, started_at=COALESCE(started_at, ?) WHERE id=1",
                    (status, reason, now),
                )
            else:
                c.execute("UPDATE run SET status=?, status_reason=? WHERE id=1", (status, reason))

    def end_if_active(self, status: str, reason: str, exit_code: int) -> bool:
        """Record an ended status only if the run is still active (no relabelling of a finished run)."""
        now = time.time()
        with self._tx() as c:
            row = c.execute("SELECT status FROM run WHERE id=1").fetchone()
            if not row or row[0] not in ACTIVE_STATUSES:
                return False
            c.execute("INSERT INTO events (t, status, reason) VALUES (?, ?, ?)", (now, status, reason))
            c.execute("UPDATE run SET status=?, status_reason=?, exit_code=?, ended_at=? WHERE id=1",
                      (status, reason, exit_code, now))
        return True

    def set_meta(self, key: str, value: str) -> None:
        """Set a meta value (notes, tags: written by users while the runner writes too)."""
        try:
            with self._tx() as c:
                c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: cannot write ({e})") from e

    def get_meta(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def record_metrics(self, step: int, metrics: dict[str, Any]) -> None:
        """Metrics of one logged step under TRL's names (merged into what that step already has)."""
        clean = {k: v if isinstance(v, str) else as_float(v) for k, v in metrics.items()}
        with self._tx() as c:
            if step <= self._last_metrics_step:  # e.g. eval metrics at a step that has training metrics
                row = c.execute("SELECT data FROM metrics WHERE step=?", (step,)).fetchone()
                if row:
                    clean = {**json.loads(row[0]), **clean}
            self._last_metrics_step = max(self._last_metrics_step, step)
            if self._has_column("metrics", "has_reward"):
                r = clean.get("reward")
                has = isinstance(r, float)
                c.execute(
                    "INSERT OR REPLACE INTO metrics (step, t, data, reward, has_reward) VALUES (?, ?, ?, ?, ?)",
                    (step, time.time(), json.dumps(clean, separators=(",", ":")),
                     r if has and math.isfinite(r) else None, int(has)),
                )
                if has:
                    self._fold_best_reward(c, step)
            else:
                c.execute(
                    "INSERT OR REPLACE INTO metrics (step, t, data) VALUES (?, ?, ?)",
                    (step, time.time(), json.dumps(clean, separators=(",", ":"))),
                )
            if self._has_column("curve_buckets", "data"):
                self._fold_buckets(c, step, clean)

    # ---------------------------------------------------------------- the best reward (writer side)
    def _fold_best_reward(self, c: sqlite3.Connection, step: int) -> None:
        """The trailing mean over REWARD_WINDOW logged rewards that ends at ``step`` (just written): kept in
        the meta table when it is the best so far."""
        st = self._best_reward
        if st is None:  # this process's first reward: what the store has (a resume), computed once if missing
            row = c.execute("SELECT value FROM meta WHERE key = ?", (BEST_REWARD_KEY,)).fetchone()
            st = json.loads(row[0]) if row else None
            if st is None or st.get("last", -1) >= step:  # none yet, or written by another branch
                st = _best_reward_state(c, before=step)
        if step > st["last"]:
            st["n"], st["last"] = st["n"] + 1, step
        if st["n"] >= REWARD_WINDOW:
            count, total = c.execute(
                "SELECT COUNT(reward), SUM(reward) FROM (SELECT reward FROM metrics WHERE has_reward = 1"
                " AND step <= ? ORDER BY step DESC LIMIT ?)", (step, REWARD_WINDOW)).fetchone()
            if count and (st["best"] is None or total / count > st["best"]):
                st["best"], st["step"] = total / count, step
        c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (BEST_REWARD_KEY, _dumps(st)))
        self._best_reward = st

    # ---------------------------------------------------------------- curve summary (writer side)
    def _fold_buckets(self, c: sqlite3.Connection, step: int, metrics: dict[str, Any]) -> None:
        """Fold one step into the open bucket of every size; write the buckets it closes."""
        if self._buckets is None:
            self._buckets = {size: self._seed_bucket(c, size, step) for size in BUCKET_SIZES}
        for size in BUCKET_SIZES:
            b = step // size
            open_b, acc = self._buckets[size]
            if b != open_b:
                if acc and b > open_b:
                    c.execute("INSERT OR REPLACE INTO curve_buckets VALUES (?, ?, ?)", (size, open_b, _dumps(acc)))
                open_b, acc = b, {}
                self._buckets[size] = (open_b, acc)
            _fold(acc, step, metrics)

    def _seed_bucket(self, c: sqlite3.Connection, size: int, step: int) -> tuple[int, dict[str, list[float]]]:
        """The bucket ``step`` falls in, with the steps of it recorded before this process (a resume)."""
        b = step // size
        acc: dict[str, list[float]] = {}
        for s_, d in c.execute("SELECT step, data FROM metrics WHERE step >= ? AND step < ? ORDER BY step",
                               (b * size, step)).fetchall():
            _fold(acc, s_, json.loads(d))
        return b, acc

    # ---------------------------------------------------------------- curve summary (reader side)
    def curve_summary(self, max_buckets: int = SUMMARY_MAX_BUCKETS) -> tuple[list[tuple[int, dict]], int] | None:
        """A long run's curves without reading every step: ``(points, after)``, where ``points`` are each
        bucket's extremes as ``(step, {key: value})`` in step order and ``after`` the last step they
        cover (read the raw steps after it). None for a short run or a store without the summary."""
        if not self._has_column("curve_buckets", "data"):
            return None
        last = self._read("SELECT MAX(step) FROM metrics")[0][0]
        if last is None or last < 4 * max_buckets:
            return None
        rows: list[tuple] = []
        for size in [z for z in BUCKET_SIZES if last / z <= max_buckets] or [BUCKET_SIZES[-1]]:
            # the finest size that gives few enough rows (a store written with other sizes has some of them)
            rows = self._read("SELECT bucket, data FROM curve_buckets WHERE size = ? ORDER BY bucket", (size,))
            if rows:
                break
        if not rows:
            return None
        by_step: dict[int, dict[str, float]] = {}
        for b, data in rows:
            mid = b * size + size // 2
            for key, (s_lo, lo, s_hi, hi, total, n) in json.loads(data).items():
                by_step.setdefault(int(s_lo), {})[key] = lo
                by_step.setdefault(int(s_hi), {})[key] = hi
                if n and mid not in (s_lo, s_hi):  # the mean too, so a rolling mean drawn over these is one
                    by_step.setdefault(mid, {}).setdefault(key, total / n)
        after = (rows[-1][0] + 1) * size - 1
        return sorted(by_step.items()), after

    def record_groups(self, step: int, groups: Iterable[dict[str, Any]], *, first_group: int = 0) -> int:
        """Record one generation's groups in one transaction; returns the number of groups.

        Each group is ``{"prompt", "expected", "completions": [{"completion", "answer", "verdict",
        "reward", "rewards", "advantage", "length"}, ...]}``.
        """
        g_rows, c_rows = [], []
        n = 0
        for n, g in enumerate(groups, start=1):
            grp = first_group + n - 1
            question = g.get("question")
            g_rows.append((step, grp, g["prompt"], g.get("expected"), question, g.get("row"),
                           g["prompt"] if question is None else question,
                           *_prompts.group_counts(g.get("expected"), g["completions"])))
            for idx, comp in enumerate(g["completions"]):
                c_rows.append(
                    (
                        step, grp, idx, comp["completion"], comp.get("answer"), comp.get("verdict"),
                        as_float(comp.get("reward")), _dumps(comp.get("rewards") or {}),
                        as_float(comp.get("advantage")), comp.get("length"), comp.get("verdict_reason"),
                    )
                )
        with self._tx() as c:
            replaced = {r[0] for r in c.execute(  # a step recorded again (a resumed run): its old prompts too
                "SELECT pkey FROM groups WHERE step = ? AND grp >= ? AND pkey IS NOT NULL", (step, first_group))}
            c.executemany(
                "INSERT OR REPLACE INTO groups (step, grp, prompt, expected, question, row, pkey, n, n_right,"
                " n_pending, reward_sum, reward_n, zero_spread) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", g_rows)
            c.executemany(
                "INSERT OR REPLACE INTO completions (step, grp, idx, completion, answer, verdict, reward, rewards,"
                " advantage, length, verdict_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)", c_rows)
            _prompts.refresh(c, replaced | {r[6] for r in g_rows})
        return n

    # ---------------------------------------------------------------- verdicts (the judge process)
    def pending_verdicts(self, *, limit: int = 100, steps: Sequence[int] = ()) -> list[tuple]:
        """Completions still to judge: ``[(step, grp, idx, completion, expected)]``, those of ``steps``
        first, then the newest steps first (what a person looks at)."""
        if not self._has_column("completions", "verdict_reason"):
            return []
        sql = ("SELECT c.step, c.grp, c.idx, c.completion, g.expected FROM completions c"
               " JOIN groups g ON g.step = c.step AND g.grp = c.grp WHERE c.verdict = 'pending'")
        if steps:
            marks = ",".join("?" * len(steps))
            rows = self._read(f"{sql} AND c.step IN ({marks}) ORDER BY c.step, c.grp, c.idx LIMIT ?",
                              (*steps, limit))
            if rows:
                return rows
        return self._read(f"{sql} ORDER BY c.step DESC, c.grp, c.idx LIMIT ?", (limit,))

    def set_verdicts(self, rows: Iterable[tuple[int, int, int, str | None, str, str | None]]) -> int:
        """``[(step, grp, idx, answer, verdict, reason)]`` for completions still pending (a row judged
        meanwhile by another judge keeps its verdict)."""
        rows = list(rows)
        with self._tx() as c:
            c.executemany(
                "UPDATE completions SET answer = ?, verdict = ?, verdict_reason = ?"
                " WHERE step = ? AND grp = ? AND idx = ? AND verdict = 'pending'",
                [(a, v, r, s, g, i) for s, g, i, a, v, r in rows],
            )
            if self._has_column("groups", "pkey"):  # the groups' counts and their prompts follow
                _prompts.refresh(c, _prompts.recount(c, [(s, g) for s, g, *_ in rows]))
        return len(rows)

    def pending_eval_verdicts(self, *, limit: int = 100) -> list[tuple]:
        """Evaluation samples still to judge: ``[(step, grp, idx, completion, expected)]``, newest first."""
        if not self._has_column("eval_completions", "verdict"):
            return []
        return self._read("SELECT step, grp, idx, completion, expected FROM eval_completions"
                          " WHERE verdict = 'pending' ORDER BY step DESC, grp, idx LIMIT ?", (limit,))

    def set_eval_verdicts(self, rows: Iterable[tuple[int, int, int, str | None, str, str | None]]) -> int:
        """Like :meth:`set_verdicts`, for evaluation samples."""
        rows = list(rows)
        with self._tx() as c:
            c.executemany("UPDATE eval_completions SET answer = ?, verdict = ?, verdict_reason = ?"
                          " WHERE step = ? AND grp = ? AND idx = ? AND verdict = 'pending'",
                          [(a, v, r, s, g, i) for s, g, i, a, v, r in rows])
        return len(rows)

    def count_pending_at(self, step: int) -> int:
        if not self._has_column("completions", "verdict_reason"):
            return 0
        return self._read("SELECT COUNT(*) FROM completions WHERE verdict = 'pending' AND step = ?", (step,))[0][0]

    def count_pending(self) -> int:
        """How many recorded completions wait for their verdict (0 for stores before verdicts were)."""
        if not self._has_column("completions", "verdict_reason"):
            return 0
        n = self._read("SELECT COUNT(*) FROM completions WHERE verdict = 'pending'")[0][0]
        if self._has_column("eval_completions", "verdict"):
            n += self._read("SELECT COUNT(*) FROM eval_completions WHERE verdict = 'pending'")[0][0]
        return n

    # ---------------------------------------------------------------- held-out evaluations
    def record_eval(self, step: int, groups: list[dict[str, Any]], *, first_group: int = 0) -> None:
        """One generation of the evaluation that follows ``step`` (0: before the first), its groups as for
        :meth:`record_groups` (see :mod:`grpotui.store.evals`)."""
        with self._tx() as c:
            _evals.insert(c, step, time.time(), groups, first_group)

    def record_eval_logs(self, step: int, logs: dict[str, Any]) -> None:
        """TRL's own ``eval_*`` logs of the evaluation at ``step`` (kept apart from training's metrics)."""
        clean = {k: v if isinstance(v, str) else as_float(v) for k, v in logs.items()}
        with self._tx() as c:
            _evals.set_trl_logs(c, step, time.time(), clean)

    def evals(self) -> list[dict[str, Any]]:
        """Every evaluation's figures, oldest first (none for stores before schema 4)."""
        if not self._has_column("evals", "step"):
            return []
        with self._lock:
            try:
                return _evals.summary(self._conn)
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: cannot read ({e})") from e

    def latest_eval_accuracy(self) -> tuple[int, float | None] | None:
        """``(step, accuracy of its judged samples)`` of the newest evaluation; None when there is none."""
        if not self._has_column("evals", "step"):
            return None
        row = self._read("SELECT step FROM evals ORDER BY step DESC LIMIT 1")
        if not row:
            return None
        right, judged = self._read("SELECT SUM(verdict = 'right'), SUM(verdict != 'pending') FROM eval_completions"
                                   " WHERE step = ?", (row[0][0],))[0]
        return row[0][0], (right / judged if judged else None)

    def evals_version(self) -> tuple[int, int | None, int] | None:
        """Changes when an evaluation or more of its samples are recorded (two indexed reads); None for
        stores before schema 4."""
        if not self._has_column("evals", "step"):
            return None
        n, last = self._read("SELECT COUNT(*), MAX(step) FROM evals")[0]
        rows = self._read("SELECT COUNT(*) FROM eval_completions WHERE step = ?", (last,))[0][0] if n else 0
        return n, last, rows

    def eval_groups(self, step: int) -> list[Group]:
        """The problems of one evaluation, each a group of its samples."""
        if not self._has_column("eval_completions", "step"):
            return []
        rows = self._read("SELECT grp, idx, prompt, expected, completion, answer, verdict, reward, rewards, length,"
                          " verdict_reason FROM eval_completions WHERE step = ? ORDER BY grp, idx", (step,))
        groups: dict[int, tuple[str, str | None, list[Completion]]] = {}
        for grp, idx, prompt, exp, comp, ans, verdict, reward, rewards, length, why in rows:
            groups.setdefault(grp, (prompt, exp, []))[2].append(
                Completion(idx, comp, ans, verdict, reward, json.loads(rewards or "{}"), None, length, why))
        return [Group(step, grp, prompt, exp, tuple(cs)) for grp, (prompt, exp, cs) in groups.items()]

    def iter_eval_rows(self) -> Iterator[dict[str, Any]]:
        """Every evaluation sample (``export --what eval``), by evaluation, problem and sample."""
        if not self._has_column("eval_completions", "step"):
            return
        for step, grp, idx, prompt, comp, ans, exp, verdict, reward, length, why in self._read(
                "SELECT step, grp, idx, prompt, completion, answer, expected, verdict, reward, length, verdict_reason"
                " FROM eval_completions ORDER BY step, grp, idx"):
            yield {"eval_step": step, "problem": grp, "sample": idx, "prompt": prompt, "completion": comp,
                   "answer": ans, "expected": exp, "verdict": verdict, "reward": reward, "length": length,
                   "verdict_reason": why}

    def record_system(self, sample: dict[str, Any], *, step: int | None = None, heartbeat: bool = True) -> None:
        """A system sample; it doubles as the runner's heartbeat."""
        now = time.time()
        with self._tx() as c:
            c.execute("INSERT INTO system (t, step, data) VALUES (?, ?, ?)", (now, step, _dumps(sample)))
            if heartbeat:
                c.execute("UPDATE run SET heartbeat_at=? WHERE id=1", (now,))

    def record_alert(
        self, *, step: int | None, rule: str, severity: str, message: str,
        action: str | None = None, values: dict[str, Any] | None = None, evidence: dict[str, Any] | None = None,
    ) -> None:
        """An alert, with its ``evidence``: ``{"steps": [first, last], "groups": [{"step", "group"}, ...]}``."""
        with self._tx() as c:
            c.execute(
                "INSERT INTO alerts (t, step, rule, severity, message, action, vals, evidence)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (time.time(), step, rule, severity, message, action, _dumps(values or {}),
                 _dumps(evidence) if evidence else None),
            )

    def record_notification(self, *, event: str, rule: str | None, step: int | None, channel: str, ok: bool,
                            detail: str) -> None:
        if not self._has_column("notifications", "channel"):  # a store before schema 3, not migrated
            return
        with self._tx() as c:
            c.execute("INSERT INTO notifications (t, event, rule, step, channel, ok, detail) VALUES (?,?,?,?,?,?,?)",
                      (time.time(), event, rule, step, channel, int(ok), detail))

    def notifications(self) -> list[dict[str, Any]]:
        """What was sent where, in order (none for stores before schema 3)."""
        if not self._has_column("notifications", "channel"):
            return []
        rows = self._read("SELECT t, event, rule, step, channel, ok, detail FROM notifications ORDER BY id")
        return [dict(t=t, event=e, rule=r, step=s, channel=ch, ok=bool(ok), detail=d)
                for t, e, r, s, ch, ok, d in rows]

    def reopen(self, reason: str, *, after_step: int) -> None:
        """A resumed run: forget what came after ``after_step`` and start again (status ``starting``)."""
        now = time.time()
        with self._tx() as c:
            gone = {r[0] for r in c.execute("SELECT pkey FROM groups WHERE step > ? AND pkey IS NOT NULL",
                                            (after_step,))} if self._has_column("groups", "pkey") else set()
            for table in ("metrics", "groups", "completions", "alerts"):
                c.execute(f"DELETE FROM {table} WHERE step > ?", (after_step,))
            if self._has_column("evals", "step"):
                for table in ("evals", "eval_completions"):
                    c.execute(f"DELETE FROM {table} WHERE step > ?", (after_step,))
            _prompts.refresh(c, gone)  # their later appearances are gone with the steps
            if self._has_column("curve_buckets", "data"):
                c.execute("DELETE FROM curve_buckets WHERE (bucket + 1) * size - 1 > ?", (after_step,))
            self._buckets = None
            c.execute("DELETE FROM meta WHERE key = ?", (BEST_REWARD_KEY,))  # computed again from what is kept
            self._best_reward = None
            c.execute("UPDATE commands SET taken_at=?, result='dropped: the run was resumed'"
                      " WHERE taken_at IS NULL", (now,))
            c.execute("UPDATE run SET status='starting', status_reason=?, exit_code=NULL, ended_at=NULL,"
                      " pid=NULL, pid_create_time=NULL WHERE id=1", (reason,))
            c.execute("INSERT INTO events (t, status, reason, step) VALUES (?, 'starting', ?, ?)",
                      (now, reason, after_step))

    def take_commands(self, step: int | None = None) -> list[tuple[int, str, int | None]]:
        """Commands not yet taken, marked taken now: ``[(id, command, uid)]`` in order."""
        if not self._read("SELECT 1 FROM commands WHERE taken_at IS NULL LIMIT 1"):
            return []  # the usual case, answered by a read: no write lock every poll
        with self._tx() as c:
            rows = c.execute("SELECT id, command, uid FROM commands WHERE taken_at IS NULL ORDER BY id").fetchall()
            if rows:
                c.execute(
                    "UPDATE commands SET taken_at=?, taken_step=? WHERE taken_at IS NULL AND id <= ?",
                    (time.time(), step, rows[-1][0]),
                )
        return rows

    def set_command_result(self, command_id: int, result: str) -> None:
        with self._tx() as c:
            c.execute("UPDATE commands SET result=? WHERE id=?", (result, command_id))

    # ---------------------------------------------------------------- control side
    def issue_command(self, command: str) -> int:
        """Queue a control command for the runner (needs a writable store)."""
        if command not in COMMANDS:
            raise ValueError(f"unknown command {command!r}; one of {', '.join(COMMANDS)}")
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO commands (t, command, uid) VALUES (?, ?, ?)", (time.time(), command, os.getuid())
            )
            return int(cur.lastrowid or 0)

    # ---------------------------------------------------------------- reading
    def run_info(self) -> dict[str, Any]:
        rows = self._read("SELECT * FROM run WHERE id=1")
        if not rows:
            raise StoreError(f"{self.path}: the run row is missing")
        cols = [d[0] for d in self._conn.execute("SELECT * FROM run LIMIT 0").description]
        info = dict(zip(cols, rows[0], strict=False))
        for key in ("config", "summary"):
            info[key] = json.loads(info[key]) if info.get(key) else ({} if key == "config" else None)
        return info

    def events(self, skip: int = 0) -> list[dict[str, Any]]:
        """Status changes in order, leaving out the first ``skip`` (those a reader has already seen)."""
        rows = self._read("SELECT t, status, reason, step FROM events ORDER BY id LIMIT -1 OFFSET ?", (skip,))
        return [dict(t=t, status=s, reason=r, step=st) for t, s, r, st in rows]

    def metrics(self, after_step: int = -1, *, limit: int | None = None) -> list[tuple[int, dict[str, Any]]]:
        """``[(step, {key: value})]`` for logged steps after ``after_step`` (only what is new), at most
        ``limit`` of them."""
        rows = self._read("SELECT step, data FROM metrics WHERE step > ? ORDER BY step LIMIT ?",
                          (after_step, -1 if limit is None else limit))
        return [(s, json.loads(d)) for s, d in rows]

    def reward_headline(self) -> tuple[float | None, float | None, int | None, int] | None:
        """``(final, best, best step, window)`` of the reward (see :func:`reward_figures`) without reading
        every step when the writer kept the best (runs of 20 * REWARD_WINDOW logged rewards and more); None
        for stores without the reward's own column."""
        kept = self.get_meta(BEST_REWARD_KEY)
        st = json.loads(kept) if kept else None
        if st and st.get("n", 0) >= 20 * REWARD_WINDOW and self.get_meta(REWARD_COLUMN_KEY) == "1":
            rows = self._read("SELECT reward FROM metrics WHERE has_reward = 1 ORDER BY step DESC LIMIT ?",
                              (REWARD_WINDOW,))
            tail = [r for (r,) in rows if r is not None]
            return sum(tail) / len(tail) if tail else None, st["best"], st["step"], REWARD_WINDOW
        series = self.reward_series()
        return None if series is None else reward_figures(series)

    def reward_series(self) -> list[tuple[int, float | None]] | None:
        """``[(step, reward)]`` for every logged step with a reward (None where it was not finite), from
        its own column: no JSON parsed. None for stores without that column filled everywhere."""
        if self.get_meta(REWARD_COLUMN_KEY) != "1":
            return None
        return self._read("SELECT step, reward FROM metrics WHERE has_reward = 1 ORDER BY step")

    def last_metrics(self, n: int) -> list[tuple[int, dict[str, Any]]]:
        """The last ``n`` logged steps, oldest first."""
        rows = self._read("SELECT step, data FROM metrics ORDER BY step DESC LIMIT ?", (n,))
        return [(st, json.loads(d)) for st, d in reversed(rows)]

    def metric_tail(self, key: str, n: int) -> list[float | None]:
        """The last ``n`` values of one metric, oldest first (for trends in lists of runs)."""
        rows = self._read("SELECT data FROM metrics ORDER BY step DESC LIMIT ?", (n,))
        return [json.loads(r[0]).get(key) for r in reversed(rows)]

    def latest_metrics(self) -> tuple[int, dict[str, Any]] | None:
        rows = self._read("SELECT step, data FROM metrics ORDER BY step DESC LIMIT 1")
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def neighbor_step(self, step: int, delta: int) -> int | None:
        """The recorded step ``delta`` recorded steps after (or before, when negative) ``step``."""
        if delta >= 0:
            rows = self._read("SELECT DISTINCT step FROM groups WHERE step > ? ORDER BY step LIMIT 1 OFFSET ?",
                              (step, max(0, delta - 1)))
        else:
            rows = self._read(
                "SELECT DISTINCT step FROM groups WHERE step < ? ORDER BY step DESC LIMIT 1 OFFSET ?",
                (step, -delta - 1))
        return rows[0][0] if rows else None

    def last_group_step(self) -> int | None:
        return self._read("SELECT MAX(step) FROM groups")[0][0]

    def first_step(self) -> int | None:
        return self._read("SELECT MIN(step) FROM groups")[0][0]

    def last_step(self) -> int:
        rows = self._read("SELECT MAX(step) FROM metrics")
        rows2 = self._read("SELECT MAX(step) FROM groups")
        return max(rows[0][0] or 0, rows2[0][0] or 0)

    def group_steps(self, after_step: int = -1) -> list[int]:
        rows = self._read("SELECT DISTINCT step FROM groups WHERE step > ? ORDER BY step", (after_step,))
        return [r[0] for r in rows]

    def groups_at(self, step: int) -> list[Group]:
        """Every group of one step with its completions (one indexed range read)."""
        g_rows = self._read("SELECT grp, prompt, expected FROM groups WHERE step=? ORDER BY grp", (step,))
        reason = "verdict_reason" if self._has_column("completions", "verdict_reason") else "NULL"
        c_rows = self._read(
            f"SELECT grp, idx, completion, answer, verdict, reward, rewards, advantage, length, {reason}"
            " FROM completions WHERE step=? ORDER BY grp, idx",
            (step,),
        )
        by_grp: dict[int, list[Completion]] = {}
        for grp, idx, comp, ans, verdict, reward, rewards, adv, length, why in c_rows:
            by_grp.setdefault(grp, []).append(
                Completion(idx, comp, ans, verdict, reward, json.loads(rewards or "{}"), adv, length, why)
            )
        return [Group(step, grp, prompt, exp, tuple(by_grp.get(grp, ()))) for grp, prompt, exp in g_rows]

    # ---------------------------------------------------------------- per-prompt statistics
    def keeps_prompt_stats(self) -> bool:
        """Whether this store keeps per-prompt statistics as it is written (schema 3 on); an older one has
        them computed on first ask, a pass over every completion."""
        return self._has_column("groups", "pkey")

    def _prompt_db(self) -> str:
        """Where this store's prompt statistics are: its own tables, or (a store before schema 3) an
        in-memory copy computed once for this connection from its groups."""
        if self._has_column("groups", "pkey"):
            return ""
        if self._pstats is None:
            with self._lock:
                try:
                    self._pstats = _prompts.attach_computed(self._conn)
                except sqlite3.DatabaseError as e:
                    raise StoreError(f"{self.path}: cannot compute its prompts ({e})") from e
        return self._pstats

    def _prompt_call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        db = self._prompt_db()
        with self._lock:
            try:
                return fn(self._conn, db, *args, **kwargs)
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path}: cannot read its prompts ({e})") from e

    def prompts(self, *, statuses: Sequence[str] = (), text: str | None = None, sort: str = "first_step",
                descending: bool | None = None, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """One page of the run's prompts with their statistics (see :mod:`grpotui.store.prompts`)."""
        return self._prompt_call(_prompts.query, statuses=statuses, text=text, sort=sort, descending=descending,
                                 limit=limit, offset=offset)

    def count_prompts(self, *, statuses: Sequence[str] = (), text: str | None = None) -> int:
        return self._prompt_call(_prompts.count, statuses=statuses, text=text)

    def prompt_summary(self) -> dict[str, Any]:
        return self._prompt_call(_prompts.summary)

    def prompt_history(self, key: str, *, limit: int | None = None) -> list[tuple]:
        """``[(step, grp, n, n_right, n_pending)]``: every appearance of one prompt, in step order."""
        return self._prompt_call(_prompts.history, key, limit=limit)

    def iter_completions(self, page_steps: int = 50) -> Iterator[dict[str, Any]]:
        """Every completion with its group, in step order, streamed in pages of steps.

        Each page is its own short read, so a slow consumer (``export | less`` on a live run) never
        holds a snapshot open and the WAL can still be checkpointed.
        """
        keys = ("step", "group", "index", "prompt", "completion", "answer", "expected", "verdict",
                "reward", "rewards", "advantage", "length", "verdict_reason")
        reason = "c.verdict_reason" if self._has_column("completions", "verdict_reason") else "NULL"
        last = -1
        while True:
            steps = self._read("SELECT DISTINCT step FROM groups WHERE step > ? ORDER BY step LIMIT ?",
                               (last, page_steps))
            if not steps:
                return
            hi = steps[-1][0]
            rows = self._read(
                "SELECT c.step, c.grp, c.idx, g.prompt, c.completion, c.answer, g.expected, c.verdict,"
                f" c.reward, c.rewards, c.advantage, c.length, {reason} FROM completions c"
                " JOIN groups g ON g.step = c.step AND g.grp = c.grp WHERE c.step > ? AND c.step <= ?"
                " ORDER BY c.step, c.grp, c.idx",
                (last, hi),
            )
            for row in rows:
                d = dict(zip(keys, row, strict=False))
                d["rewards"] = json.loads(d["rewards"] or "{}")
                yield d
            last = hi

    def count_groups(self, step: int) -> int:
        return self._read("SELECT COUNT(*) FROM groups WHERE step=?", (step,))[0][0]

    def count_completions(self) -> int:
        return self._read("SELECT COUNT(*) FROM completions")[0][0]

    def system(self, after_id: int = 0, *, limit: int | None = None) -> list[tuple[int, float, int | None, dict]]:
        """``[(id, t, step, sample)]`` newer than ``after_id``; with ``limit``, only the newest ones."""
        if limit is None:
            rows = self._read("SELECT id, t, step, data FROM system WHERE id > ? ORDER BY id", (after_id,))
        else:
            rows = self._read(
                "SELECT * FROM (SELECT id, t, step, data FROM system WHERE id > ? ORDER BY id DESC LIMIT ?)"
                " ORDER BY id",
                (after_id, limit),
            )
        return [(i, t, s, json.loads(d)) for i, t, s, d in rows]

    def system_at(self, step: int) -> dict[str, Any] | None:
        """The last system sample taken at or before ``step`` (reviewing a past step)."""
        rows = self._read("SELECT data FROM system WHERE step IS NOT NULL AND step <= ?"
                          " ORDER BY step DESC, id DESC LIMIT 1", (step,))
        return json.loads(rows[0][0]) if rows else None

    def alerts(self, after_id: int = 0) -> list[dict[str, Any]]:
        """Every alert after ``after_id``; ``evidence`` is None where none was recorded (older stores)."""
        ev = "evidence" if self._has_column("alerts", "evidence") else "NULL"
        rows = self._read(
            f"SELECT id, t, step, rule, severity, message, action, vals, {ev} FROM alerts WHERE id > ? ORDER BY id",
            (after_id,),
        )
        return [
            dict(id=i, t=t, step=s, rule=r, severity=sev, message=m, action=a, values=json.loads(v or "{}"),
                 evidence=json.loads(e) if e else None)
            for i, t, s, r, sev, m, a, v, e in rows
        ]

    def commands(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT id, t, command, uid, taken_at, taken_step, result FROM commands ORDER BY id")
        keys = ("id", "t", "command", "uid", "taken_at", "taken_step", "result")
        return [dict(zip(keys, r, strict=False)) for r in rows]

