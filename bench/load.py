"""A bounded load client speaking Streamlit's browser protocol (protobuf over the websocket at
/_stcore/stream), on loopback.

    python -m bench.load --sessions 10,25,50 --reruns 3 --think 1.0 --deadline 300

Without --url it builds a database with the demo dataset (bench/data/load_demo.duckdb), starts
`streamlit run app.py --server.headless true` on a free port with CX_DB pointing at it, runs each
level and stops the server. Each session opens its own websocket (a new Streamlit session, like a
browser tab), asks for the default page (the overview) `--reruns` times with a random think time
around `--think` seconds between reruns, and times each rerun from the BackMsg it sends to the
ForwardMsg `script_finished`. An error is: a connection failure, a script that does not finish
successfully, an exception element or an error alert on the page, or no answer before the deadline.
Every level is bounded by `--deadline` seconds.

`--memory-bomb` runs each level twice, without and then with one more session that keeps opening
`/sql?sql=SELECT len(range(2000000000)) AS n` (`--bomb-sql`) while the others load the overview
(issue 19: one such query once took the whole server to 23.6 GB and the kernel killed it). Each
row then also says whether the server process was still alive and answering its health check
afterwards, its largest resident memory during the level (sampled every 0.1 s; the SQL box's
worker processes are not counted: they are its children), and what the bomb session saw.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"


@dataclass
class Level:
    sessions: int
    latencies: list[float] = field(default_factory=list)  # every rerun
    first: list[float] = field(default_factory=list)  # the first run of a session (session start)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    exec_s: list[float] = field(default_factory=list)  # script time on the server (with --profile)
    commands: dict = field(default_factory=dict)  # st command -> total seconds (with --profile)
    server_cpu_s: float | None = None  # CPU seconds the server process used during the level
    bytes_in: int = 0  # ForwardMsg bytes received
    bomb: dict | None = None  # with --memory-bomb: runs, stopped (the memory message), other outcomes
    server_rss_max_mib: float | None = None
    server_alive: bool | None = None

    def pct(self, q: float, which: str = "latencies") -> float:
        xs = sorted(getattr(self, which))
        if not xs:
            return float("nan")
        k = min(len(xs) - 1, max(0, int(round(q / 100 * len(xs) + 0.5)) - 1))
        return xs[k]

    def row(self) -> dict:
        return {"sessions": self.sessions, "reruns": len(self.latencies), "errors": len(self.errors),
                "p50_s": round(self.pct(50), 3), "p95_s": round(self.pct(95), 3),
                "max_s": round(max(self.latencies), 3) if self.latencies else None,
                "first_p50_s": round(self.pct(50, "first"), 3), "later_p95_s": round(self._later_p95(), 3),
                "wall_s": round(self.seconds, 1), "error_samples": self.errors[:3],
                "server_cpu_per_rerun_s": (round(self.server_cpu_s / max(len(self.latencies), 1), 3)
                                           if self.server_cpu_s is not None else None),
                "script_p50_s": round(statistics.median(self.exec_s), 3) if self.exec_s else None,
                "kb_per_rerun": round(self.bytes_in / max(len(self.latencies), 1) / 1024, 1),
                "top_commands_s": dict(sorted(self.commands.items(), key=lambda kv: -kv[1])[:6]),
                "memory_bomb": self.bomb, "server_rss_max_mib": self.server_rss_max_mib,
                "server_alive": self.server_alive}

    def _later_p95(self) -> float:
        later = list(self.latencies)
        for f in self.first:
            later.remove(f)
        return Level(0, later).pct(95)


def _rerun_msg(page_script_hash: str = "", query_string: str = "", page_name: str = "") -> bytes:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.WidgetStates_pb2 import WidgetStates

    msg = BackMsg(rerun_script=ClientState(query_string=query_string, page_script_hash=page_script_hash,
                                           page_name=page_name, widget_states=WidgetStates()))
    return msg.SerializeToString()


def _problem(fm) -> str | None:
    """An error visible on the page, from one ForwardMsg (None when fine)."""
    from streamlit.proto.Alert_pb2 import Alert

    if fm.WhichOneof("type") != "delta" or fm.delta.WhichOneof("type") != "new_element":
        return None
    el = fm.delta.new_element
    kind = el.WhichOneof("type")
    if kind == "exception":
        return f"exception on the page: {el.exception.type}: {el.exception.message[:200]}"
    if kind == "alert" and el.alert.format == Alert.ERROR:
        return f"error on the page: {el.alert.body[:200]}"
    return None


async def _session(url: str, reruns: int, think: float, deadline: float, lv: Level, rnd: random.Random) -> None:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    await asyncio.sleep(rnd.uniform(0, min(2.0, think)))  # people do not all click at the same instant
    try:
        async with connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=30,
                           ping_interval=None) as ws:
            for i in range(reruns):
                if time.monotonic() > deadline:
                    lv.errors.append("deadline reached before all reruns were sent")
                    return
                t0 = time.perf_counter()
                await ws.send(_rerun_msg())
                problem = None
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        lv.errors.append("no script_finished before the deadline")
                        return
                    raw = await asyncio.wait_for(ws.recv(), timeout=left)
                    lv.bytes_in += len(raw)
                    fm = ForwardMsg()
                    fm.ParseFromString(raw)
                    problem = problem or _problem(fm)
                    if fm.WhichOneof("type") == "page_profile":
                        lv.exec_s.append(fm.page_profile.exec_time / 1e6)
                        for c in fm.page_profile.commands:
                            lv.commands[c.name] = round(lv.commands.get(c.name, 0) + c.time / 1e6, 3)
                    if fm.WhichOneof("type") == "script_finished":
                        status = fm.script_finished
                        if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                            continue
                        break
                dt = time.perf_counter() - t0
                if status != ForwardMsg.FINISHED_SUCCESSFULLY:
                    lv.errors.append(f"script finished with status {status}")
                elif problem:
                    lv.errors.append(problem)
                else:
                    lv.latencies.append(dt)
                    if i == 0:
                        lv.first.append(dt)
                if i < reruns - 1:
                    await asyncio.sleep(think * rnd.uniform(0.5, 1.5))
    except (OSError, asyncio.TimeoutError, Exception) as e:  # noqa: BLE001 - every failure is counted
        lv.errors.append(f"{type(e).__name__}: {str(e)[:200]}")


BOMB_SQL = "SELECT len(range(2000000000)) AS n"


async def _bomber(url: str, sql: str, stop: asyncio.Event, deadline: float, out: dict) -> None:
    """One more session that opens the SQL page with `sql` in the link, again and again, until the
    other sessions are done; counts what the page said."""
    from urllib.parse import urlencode

    from streamlit.proto.Alert_pb2 import Alert
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    out.update(runs=0, stopped=0, other=[])
    try:
        async with connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=30,
                           ping_interval=None) as ws:
            while not stop.is_set() and time.monotonic() < deadline:
                await ws.send(_rerun_msg(query_string=urlencode({"sql": sql}), page_name="sql"))
                said = None
                while True:
                    fm = ForwardMsg()
                    fm.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=max(deadline - time.monotonic(), 1)))
                    if fm.WhichOneof("type") == "delta" and fm.delta.WhichOneof("type") == "new_element":
                        el = fm.delta.new_element
                        if el.WhichOneof("type") == "alert" and el.alert.format in (Alert.WARNING, Alert.ERROR):
                            said = el.alert.body
                    if fm.WhichOneof("type") == "script_finished" and \
                            fm.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        break
                out["runs"] += 1
                if said and "memory" in said and "stopped" in said:
                    out["stopped"] += 1
                elif len(out["other"]) < 3:
                    out["other"].append((said or "no message")[:200])
    except (OSError, asyncio.TimeoutError, Exception) as e:  # noqa: BLE001 - reported, not raised
        out["other"].append(f"{type(e).__name__}: {str(e)[:200]}")


async def run_level(url: str, sessions: int, reruns: int, think: float, deadline_s: float, seed: int = 0,
                    bomb_sql: str | None = None) -> Level:
    lv = Level(sessions)
    rnd = random.Random(seed + sessions)
    deadline = time.monotonic() + deadline_s
    t = time.perf_counter()
    stop, bomb = asyncio.Event(), {}
    bomber = asyncio.create_task(_bomber(url, bomb_sql, stop, deadline, bomb)) if bomb_sql else None
    await asyncio.gather(*[_session(url, reruns, think, deadline, lv, random.Random(rnd.random()))
                           for _ in range(sessions)])
    lv.seconds = time.perf_counter() - t
    if bomber is not None:
        stop.set()
        await bomber
        lv.bomb = bomb
    return lv


class RssSampler:
    """The largest resident memory of a process, sampled every 0.1 s in a thread."""

    def __init__(self, pid: int):
        import threading

        self.pid, self.max_mib, self._stop = pid, 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                rss = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                self.max_mib = max(self.max_mib, rss / 2**20)
            except (OSError, ValueError, IndexError):
                pass
            self._stop.wait(0.1)

    def stop(self) -> float:
        self._stop.set()
        self._t.join()
        return round(self.max_mib, 1)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


# -- the server ------------------------------------------------------------------------------
def demo_db() -> Path:
    """A database with the demo dataset (built once, cached in bench/data)."""
    path = DATA / "load_demo.duckdb"
    if not path.exists():
        sys.path.insert(0, str(ROOT))
        import cx
        from cx.ingest import ensure_demo

        DATA.mkdir(parents=True, exist_ok=True)
        s = cx.open(path)
        try:
            ensure_demo(s)
        finally:
            s.close()
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):  # pragma: no cover - not Linux
        return None


def start_server(db: Path, port: int, profile: bool = False) -> subprocess.Popen:
    env = {**os.environ, "CX_DB": str(db), "PYTHONPATH": str(ROOT)}
    log = open(DATA / "load_server.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "true" if profile else "false"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    t = time.time()
    while time.time() - t < 90:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited ({proc.returncode}); see {DATA / 'load_server.log'}")
    proc.terminate()
    raise RuntimeError("streamlit did not become healthy within 90 s")


def _print(r: dict) -> None:
    print(f"{r['sessions']:>4} sessions: {r['reruns']:>4} reruns, {r['errors']} errors, p50 {r['p50_s']:.3f} s, "
          f"p95 {r['p95_s']:.3f} s, max {r['max_s']} s (first run p50 {r['first_p50_s']:.3f} s, "
          f"later reruns p95 {r['later_p95_s']:.3f} s), {r['wall_s']} s wall, "
          f"{r['kb_per_rerun']} kB per rerun", flush=True)
    if r["server_cpu_per_rerun_s"] is not None:
        print(f"      server CPU per rerun {r['server_cpu_per_rerun_s']:.3f} s", flush=True)
    if r["script_p50_s"] is not None:
        print(f"      script time p50 {r['script_p50_s']:.3f} s; slowest st commands (total s): "
              f"{r['top_commands_s']}", flush=True)
    if r["server_rss_max_mib"] is not None:
        print(f"      server: max RSS {r['server_rss_max_mib']:.0f} MiB, alive and healthy afterwards: "
              f"{r['server_alive']}", flush=True)
    if r["memory_bomb"] is not None:
        b = r["memory_bomb"]
        print(f"      memory bomb: {b['runs']} runs, {b['stopped']} stopped with the memory message, "
              f"other outcomes: {b['other']}", flush=True)
    if r["errors"]:
        print("      errors:", r["error_samples"], flush=True)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", default="10,25,50", help="levels: sessions at once, comma-separated")
    ap.add_argument("--reruns", type=int, default=3)
    ap.add_argument("--think", type=float, default=1.0, help="mean think time between reruns (s)")
    ap.add_argument("--deadline", type=float, default=300, help="bound of each level (s)")
    ap.add_argument("--url", help="ws://host:port/_stcore/stream of a running app (else one is started)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--memory-bomb", action="store_true",
                    help="run each level twice: without, then with one more session opening the SQL page with "
                         "a memory bomb (--bomb-sql) again and again")
    ap.add_argument("--bomb-sql", default=BOMB_SQL)
    ap.add_argument("--profile", action="store_true",
                    help="ask the server for Streamlit's page profile (script time, time per st command); "
                         "nothing leaves the machine: the profile goes to this client only")
    a = ap.parse_args(argv)
    levels = [int(x) for x in a.sessions.split(",") if x]
    proc = None
    url = a.url
    port = None
    if not url:
        port = free_port()
        proc = start_server(demo_db(), port, profile=a.profile)
        url = f"ws://127.0.0.1:{port}/_stcore/stream"
    rows = []
    try:
        asyncio.run(run_level(url, 1, 1, 0.0, 120))  # warm the caches (one session, like the first visitor)
        for n in levels:
            for bomb in ([None, a.bomb_sql] if a.memory_bomb else [None]):
                sampler = RssSampler(proc.pid) if proc else None
                cpu0 = cpu_seconds(proc.pid) if proc else None
                lv = asyncio.run(run_level(url, n, a.reruns, a.think, a.deadline, bomb_sql=bomb))
                cpu1 = cpu_seconds(proc.pid) if proc else None
                lv.server_cpu_s = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
                if sampler is not None:
                    lv.server_rss_max_mib = sampler.stop()
                    lv.server_alive = proc.poll() is None and healthy(port)
                rows.append(lv.row())
                _print(rows[-1])
                time.sleep(2)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2))
    return rows


if __name__ == "__main__":
    main()
