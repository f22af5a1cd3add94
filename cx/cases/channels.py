"""Delivering alerts and digests: a webhook (an HTTP POST of JSON ``{"text": ...}``, the shape Slack
and Microsoft Teams incoming webhooks accept) and e-mail over SMTP (smtplib; STARTTLS and login
when configured, the password from $CX_SMTP_PASSWORD, never stored).

Once per event and channel: ``cx_meta.loop_deliveries`` has one row per (event key, channel), made
when the event is queued. A delivery is claimed (status "sending", attempts + 1) in one transaction,
sent outside any transaction, and recorded ("sent", or "failed" with the error) in another. Failures
are retried up to RETRIES times in a run (with a short pause) and again by later runs, until
MAX_ATTEMPTS; they are reported, never raised. A process killed between sending and recording
leaves "sending": the next run marks it "unknown" and does not send it again (at most once).
"""
from __future__ import annotations

import json
import os
import smtplib
import time
import urllib.request
from datetime import datetime
from email.message import EmailMessage

import polars as pl

from ..store import CXError, _now
from . import storage
from .storage import bump

CHANNELS = ("webhook", "email")
MAX_ATTEMPTS = 5
RETRIES = 3
PAUSE_S = 0.5
TIMEOUT_S = 10


def config(store, dataset: str | None = None) -> tuple[dict, int]:
    """The store-wide channel settings: {"webhook": {"url", "since"}, "email": {"host", "port", "sender",
    "to": [...], "starttls", "user", "since"}} (a channel without its essentials is off) and the version.
    The same for every dataset (`dataset` is accepted and ignored, like the pages' other calls)."""
    v, version = storage.setting(store, "", "channels", {})
    return dict(v or {}), version


def save_config(store, cfg: dict, version: int, who: str, now: datetime | None = None) -> int:
    """Check and save the channels; a channel (re)configured now delivers events from now on."""
    now = now or _now()
    old, _ = config(store)
    out = {}
    wh = (cfg or {}).get("webhook") or {}
    if (wh.get("url") or "").strip():
        url = wh["url"].strip()
        if not url.startswith(("http://", "https://")):
            raise CXError("The webhook URL starts with https:// (or http:// on a private network).")
        keep = (old.get("webhook") or {}).get("url") == url
        out["webhook"] = {"url": url, "since": (old["webhook"]["since"] if keep else now.isoformat())}
    em = (cfg or {}).get("email") or {}
    if (em.get("host") or "").strip():
        to = em.get("to") or []
        to = [t.strip() for t in (to.split(",") if isinstance(to, str) else to) if t and t.strip()]
        if not to or not (em.get("sender") or "").strip():
            raise CXError("E-mail needs a sender and at least one recipient.")
        try:
            port = int(em.get("port") or 25)
        except (TypeError, ValueError):
            raise CXError("The SMTP port is a number (25, 465 or 587).") from None
        prev = old.get("email") or {}
        out["email"] = {"host": em["host"].strip(), "port": port, "sender": em["sender"].strip(), "to": to,
                        "starttls": bool(em.get("starttls")), "user": (em.get("user") or "").strip() or None,
                        "since": prev.get("since") if prev.get("host") == em["host"].strip() else now.isoformat()}
    return storage.save_setting(store, "", "channels", out, version, storage._who(who))


# -- sending ------------------------------------------------------------------------------------------------
def send_webhook(url: str, text: str) -> None:
    body = json.dumps({"text": text}).encode("utf-8")
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:  # noqa: S310 - the URL is the user's own setting
        if not 200 <= r.status < 300:
            raise OSError(f"the webhook answered HTTP {r.status}")


def send_email(cfg: dict, subject: str, text: str, html: str | None = None) -> None:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, cfg["sender"], ", ".join(cfg["to"])
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    with smtplib.SMTP(cfg["host"], int(cfg["port"]), timeout=TIMEOUT_S) as s:
        if cfg.get("starttls"):
            s.starttls()
        if cfg.get("user"):
            s.login(cfg["user"], os.environ.get("CX_SMTP_PASSWORD", ""))
        s.send_message(msg)


def _send(channel: str, cfg: dict, payload: dict) -> None:
    if channel == "webhook":
        send_webhook(cfg["webhook"]["url"], payload["text"])
    else:
        send_email(cfg["email"], payload["subject"], payload["text"], payload.get("html"))


def _error(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e)[:300]}"


# -- once per event and channel ---------------------------------------------------------------------------
def queue(store, dataset_id: int, keys: list[str], channels: list[str], now: datetime | None = None) -> int:
    """One pending delivery per (key, channel) not queued before. Returns how many were queued."""
    if not keys or not channels:
        return 0
    now = now or _now()
    with store.transaction() as cur:
        n = cur.sql("INSERT INTO cx_meta.loop_deliveries SELECT k, c, $d, 'pending', 0, NULL, $now, $now FROM "
                    "(SELECT unnest($k) AS k) CROSS JOIN (SELECT unnest($c) AS c) ON CONFLICT DO NOTHING "
                    "RETURNING 1", params={"d": dataset_id, "k": keys, "c": channels, "now": now}).fetchall()
    return len(n)


def deliver(store, dataset_id: int, payloads: dict, cfg: dict | None = None, retries: int = RETRIES,
            pause_s: float = PAUSE_S) -> dict:
    """Send the pending (and earlier failed) deliveries of these keys ({key: payload}); returns
    {"sent": n, "failed": [(key, channel, error)], "gave_up": n, "unknown": n}."""
    cfg = cfg if cfg is not None else config(store)[0]
    report = {"sent": 0, "failed": [], "gave_up": 0, "unknown": 0}
    if not payloads:
        return report
    now = _now()
    with store.transaction() as cur:
        report["unknown"] = len(cur.sql(
            "UPDATE cx_meta.loop_deliveries SET status = 'unknown', updated_at = $now, last_error = 'the process "
            "stopped while sending: not sent again (check the channel)' WHERE status = 'sending' AND dataset_id = $d "
            "RETURNING 1", params={"now": now, "d": dataset_id}).fetchall())
        claimed = cur.sql(
            "UPDATE cx_meta.loop_deliveries SET status = 'sending', attempts = attempts + 1, updated_at = $now "
            "WHERE dataset_id = $d AND status IN ('pending', 'failed') AND attempts < $max "
            "AND event_key IN (SELECT unnest($k)) RETURNING event_key, channel, attempts",
            params={"now": now, "d": dataset_id, "max": MAX_ATTEMPTS, "k": list(payloads)}).fetchall()
    results = []
    for key, channel, attempts in claimed:
        err = None
        if channel not in cfg:
            err = f"the {channel} channel is not configured any more"
        else:
            for i in range(max(1, retries)):
                try:
                    _send(channel, cfg, payloads[key])
                    err = None
                    break
                except Exception as e:  # noqa: BLE001 - any failure is recorded and reported
                    err = _error(e)
                    if i + 1 < retries:
                        time.sleep(pause_s * (i + 1))
        results.append((key, channel, attempts, err))
    with store.transaction() as cur:
        for key, channel, attempts, err in results:
            cur.sql("UPDATE cx_meta.loop_deliveries SET status = $s, last_error = $e, updated_at = $now "
                    "WHERE event_key = $k AND channel = $c",
                    params={"s": "sent" if err is None else "failed", "e": err, "now": _now(), "k": key, "c": channel})
            if err is None:
                report["sent"] += 1
            else:
                report["failed"].append((key, channel, err))
                report["gave_up"] += attempts >= MAX_ATTEMPTS
        if results:
            bump(cur, dataset_id)
    return report


def deliver_pending(store, dataset: str | None, retries: int = RETRIES, pause_s: float = PAUSE_S) -> dict:
    """Queue the dataset's alert events for every configured channel (events raised since the channel was
    configured) and send what is pending."""
    cfg, _ = config(store)
    d = storage.ds_id(store, dataset)
    ev = store.con.sql("SELECT event_key, kind, subject, message, created_at FROM cx_meta.loop_events "
                       "WHERE dataset_id = $d AND kind <> 'digest'", params={"d": d}).pl()
    for ch in CHANNELS:
        if ch in cfg and ev.height:
            since = datetime.fromisoformat(cfg[ch]["since"])
            queue(store, d, ev.filter(pl.col("created_at") >= since)["event_key"].to_list(), [ch])
    payloads = {r["event_key"]: {"text": f"CX Loop alert ({dataset}): {r['message']}",
                                 "subject": f"CX Loop alert: {r['message'][:120]}"}
                for r in ev.iter_rows(named=True)}
    return deliver(store, d, payloads, cfg, retries, pause_s)


def deliveries(store, dataset: str | None) -> pl.DataFrame:
    """Every delivery of the dataset: event_key, channel, status, attempts, last_error, updated_at."""
    return store.con.sql("SELECT event_key, channel, status, attempts, last_error, created_at, updated_at FROM "
                         "cx_meta.loop_deliveries WHERE dataset_id = $d ORDER BY updated_at DESC",
                         params={"d": storage.ds_id(store, dataset)}).pl()


def describe(report: dict | None) -> str:
    """A delivery report in words."""
    if not report:
        return "nothing to deliver"
    parts = [f"{report['sent']} sent"]
    if report["failed"]:
        parts.append(f"{len(report['failed'])} failed ("
                     + "; ".join(f"{c}: {e}" for _, c, e in report["failed"][:3]) + ")")
    if report["gave_up"]:
        parts.append(f"{report['gave_up']} given up after {MAX_ATTEMPTS} attempts")
    if report["unknown"]:
        parts.append(f"{report['unknown']} of unknown outcome (the sender stopped mid-way)")
    return ", ".join(parts)
