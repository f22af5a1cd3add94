"""Worker processes of the SQL box: start, reuse, bound and kill them.

A :class:`Worker` is one ``worker.py`` child process locked down on one set of snapshots (see
:mod:`cx.sqlbox.worker`). :meth:`Worker.query` sends one statement and waits for the answer while
watching the clock and the child's resident memory (``/proc/<pid>/statm``): past the time limit
or the memory budget the child is killed (SIGKILL) and :class:`Stopped` says why. The app process
itself only ever holds the result (at most ``max_rows`` rows, and at most ``max_result_mb``).

A :class:`Pool` keeps a few warm workers per configuration (snapshots + limits; a worker that
grew by more than a quarter of its budget is not kept, see :meth:`Worker.lean`): at most
``max_workers`` processes in all, busy or idle. At the cap, a query waits for a worker to come
back for at most its own time limit, then gets "busy"; an idle worker of another configuration is
killed to make room rather than waited for. Idle workers whose snapshot files are gone (a newer
version replaced them) or that sat unused for ``idle_s`` are killed when the pool is next used.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .worker import HEADER_SIZE, frame_length, write_frame

WORKER_PY = str(Path(__file__).with_name("worker.py"))
STARTUP_TIMEOUT_S = 60.0
POLL_S = 0.02
REUSE_GROWTH = 0.25  # a worker that grew by more than this share of its budget is not reused


@dataclass(frozen=True)
class Spec:
    """What a worker is started with; workers with equal specs are interchangeable."""
    attach: tuple[tuple[str, str], ...]  # (catalog, snapshot file)
    use: str | None
    meta_views: bool
    memory_mb: float
    threads: int
    max_temp_mb: int
    headroom_mb: int


class Stopped(Exception):
    """The worker was killed or died; ``reason`` is "time", "memory", "result" or "died"."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


class WorkerFailed(Exception):
    """The worker could not start (its first message says why)."""


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def _env(home: str) -> dict:
    """Nothing of the app's environment (secrets, tokens) reaches the worker."""
    return {"PATH": os.defpath, "HOME": home, "LANG": "C.UTF-8", "MALLOC_ARENA_MAX": "2",
            "PYTHONDONTWRITEBYTECODE": "1"}


class Worker:
    def __init__(self, spec: Spec, tmp_root: Path):
        self.spec = spec
        self.tmp = tempfile.mkdtemp(prefix=f"w{os.getpid()}-", dir=tmp_root)
        self.last_used = time.monotonic()
        try:
            self.proc = subprocess.Popen([sys.executable, "-I", WORKER_PY], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, cwd=self.tmp, env=_env(self.tmp),
                                         close_fds=True, start_new_session=True)
        except OSError as e:  # no more processes or memory
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise WorkerFailed(f"the SQL worker could not be started ({e.strerror})") from None
        self.pid = self.proc.pid
        try:
            cfg = {"attach": [list(a) for a in spec.attach], "use": spec.use, "meta_views": spec.meta_views,
                   "memory_mb": spec.memory_mb, "threads": spec.threads, "temp_dir": self.tmp,
                   "max_temp_mb": spec.max_temp_mb, "headroom_mb": spec.headroom_mb}
            self._send(cfg)
            ready = json.loads(self._recv(time.monotonic() + STARTUP_TIMEOUT_S, None, 1 << 20))
        except (Stopped, OSError, ValueError) as e:
            self.kill()
            raise WorkerFailed(f"the SQL worker did not start ({e})") from None
        if not ready.get("ready"):
            self.kill()
            raise WorkerFailed(ready.get("message", "the SQL worker did not start"))
        self.base_rss_mb = ready.get("rss_mb")  # None off Linux: no resident-memory watch then

    def alive(self) -> bool:
        return self.proc.poll() is None

    def lean(self) -> bool:
        """Still near its start-up size. After a big query DuckDB and the allocator keep memory,
        and the next query's budget is counted from start-up: such a worker is not reused."""
        now = rss_mb(self.pid)
        return self.base_rss_mb is None or now is None or now - self.base_rss_mb <= self.spec.memory_mb * REUSE_GROWTH

    def _send(self, msg: dict) -> None:
        write_frame(self.proc.stdin, json.dumps(msg).encode())

    def _recv(self, deadline: float, rss_cap_mb: float | None, max_bytes: int) -> bytes:
        """One frame, or Stopped (and the worker killed) past the deadline or the memory cap."""
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        need = HEADER_SIZE
        header_done = False
        while True:
            while len(buf) < need:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise Stopped("time")
                if rss_cap_mb is not None and (rss_mb(self.pid) or 0) > rss_cap_mb:
                    self.kill()
                    raise Stopped("memory")
                ready, _, _ = select.select([fd], [], [], min(POLL_S, left))
                if ready:
                    chunk = os.read(fd, min(need - len(buf), 1 << 20))
                    if not chunk:  # the worker died: killed by the kernel, or crashed
                        code = self.proc.wait()
                        raise Stopped("died", f"exit status {code}")
                    buf += chunk
            if header_done:
                return bytes(buf[HEADER_SIZE:])
            n = frame_length(bytes(buf[:HEADER_SIZE]))
            if n > max_bytes:
                self.kill()
                raise Stopped("result")
            need, header_done = HEADER_SIZE + n, True

    def query(self, sql: str, max_rows: int, use: str | None, timeout_s: float, memory_mb: float,
              max_result_mb: float) -> tuple[dict, bytes]:
        """(header, Arrow IPC bytes) of one statement, or Stopped."""
        deadline = time.monotonic() + timeout_s
        cap = None if self.base_rss_mb is None else self.base_rss_mb + memory_mb
        try:
            self._send({"sql": sql, "max_rows": max_rows, "use": use})
        except OSError:
            code = self.proc.wait()
            raise Stopped("died", f"exit status {code}") from None
        head = json.loads(self._recv(deadline, cap, 1 << 20))
        body = self._recv(deadline, cap, int(max_result_mb * 2**20)) if head.get("ok") else b""
        self.last_used = time.monotonic()
        return head, body

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:  # pragma: no cover - already gone
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)


class Busy(Exception):
    pass


class Pool:
    def __init__(self, tmp_root: Path, max_workers: int, idle_s: float = 300.0):
        self.tmp_root = tmp_root
        self.max_workers = max(1, int(max_workers))
        self.idle_s = idle_s
        self._idle: list[Worker] = []  # most recently used last
        self._count = 0  # workers alive: idle + busy + starting
        self._cond = threading.Condition()
        self._closed = False

    def _stale(self, w: Worker) -> bool:
        return (not w.alive() or time.monotonic() - w.last_used > self.idle_s
                or not all(os.path.exists(p) for _, p in w.spec.attach))

    def acquire(self, spec: Spec, wait_s: float) -> Worker:
        deadline = time.monotonic() + wait_s
        doomed: list[Worker] = []
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise Busy("closed")
                    for w in [w for w in self._idle if self._stale(w)]:
                        self._idle.remove(w)
                        doomed.append(w)
                        self._count -= 1
                    for w in reversed(self._idle):
                        if w.spec == spec:
                            self._idle.remove(w)
                            return w
                    if self._count >= self.max_workers and self._idle:  # make room: drop the oldest idle
                        doomed.append(self._idle.pop(0))
                        self._count -= 1
                    if self._count < self.max_workers:
                        self._count += 1
                        break
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise Busy(f"{self.max_workers} queries are running")
                    self._cond.wait(left)
        finally:
            for w in doomed:
                w.kill()
        try:
            return Worker(spec, self.tmp_root)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def release(self, w: Worker, healthy: bool) -> None:
        with self._cond:
            keep = healthy and not self._closed and w.alive() and w.lean()
            if keep:
                self._idle.append(w)
            else:
                self._count -= 1
            self._cond.notify()
        if not keep:
            w.kill()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._cond.notify_all()
        for w in idle:
            w.kill()

    def pids(self) -> list[int]:
        """The idle workers' process ids (for tests and the load bench)."""
        with self._cond:
            return [w.pid for w in self._idle]
