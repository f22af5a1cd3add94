"""Alerts and digests delivered end to end (issue 24): a webhook against a local HTTP server and e-mail
against a local SMTP server (aiosmtpd), both started by the test on loopback; each event once, never
re-sent on a re-run; failures retried and reported; a failing channel never fails an import."""
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from cx.cases import alerts, channels, digest
from tests.test_cases import FEEDBACK, EVENTS


class Hook:
    """A local webhook receiver: records every JSON body; answers `fail_first` requests with HTTP 500."""

    def __init__(self, fail_first: int = 0):
        self.bodies, self.fail_first, self.calls = [], fail_first, 0
        me = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                me.calls += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if me.calls <= me.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                me.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    box = Inbox()
    box.port = _closed_port()  # a free port, for the server to take
    c = Controller(box, hostname="127.0.0.1", port=box.port)
    c.start()
    yield box
    c.stop()


def _alerting(store, write):
    store.import_file(write("i.csv", EVENTS), kind="interactions", dataset="t")
    store.import_file(write("f.csv", FEEDBACK), kind="feedback", dataset="t")
    alerts.save_targets(store, "t", {"active_customers": 1000}, 0, "Kim")
    alerts.save_alert_rules(store, "t", [{"kind": "threshold", "kpi": "active_customers", "value": "target",
                                          "period": "week"}], 0, "Kim")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_and_email_each_once(store, write, hook, smtp):
    channels.save_config(store, {"webhook": {"url": hook.url}, "email": {
        "host": "127.0.0.1", "port": smtp.port, "sender": "cx@example.test", "to": "lead@example.test, b@example.test"}},
        0, "Kim")
    _alerting(store, write)
    r = alerts.run_alerts(store, "t")
    assert r["fired"] == 1 and len(r["new"]) == 1 and r["delivery"]["sent"] == 2 and r["delivery"]["failed"] == []
    assert len(hook.bodies) == 1 and set(hook.bodies[0]) == {"text"}  # the shape Slack and Teams accept
    assert hook.bodies[0]["text"].startswith("CX Loop alert (t): Active customers in the week of")
    assert "below its target (1,000)" in hook.bodies[0]["text"]
    assert len(smtp.messages) == 1
    frm, to, body = smtp.messages[0]
    assert frm == "cx@example.test" and to == ["lead@example.test", "b@example.test"]
    assert "Subject: CX Loop alert: Active customers" in body
    # a re-run (cron, or the next import of the same data) sends nothing again
    again = alerts.run_alerts(store, "t")
    assert again["new"] == [] and again["delivery"]["sent"] == 0
    assert len(hook.bodies) == 1 and len(smtp.messages) == 1
    d = channels.deliveries(store, "t")
    assert sorted(d["channel"].to_list()) == ["email", "webhook"] and set(d["status"]) == {"sent"}
    # the digest, sent through both, once a day
    g = digest.build(store, "t", period="week")
    assert digest.send(store, g)["sent"] == 2 and digest.send(store, g)["sent"] == 0
    assert len(hook.bodies) == 2 and hook.bodies[1]["text"].startswith("CX Loop digest — t")
    html_part = smtp.messages[1][2]
    assert "Content-Type: text/html" in html_part and "Content-Type: text/plain" in html_part


def test_failures_are_retried_and_reported_never_raised(store, write):
    flaky = Hook(fail_first=2)  # two 500s, then fine: retried within the run
    try:
        channels.save_config(store, {"webhook": {"url": flaky.url}, "email": {
            "host": "127.0.0.1", "port": _closed_port(), "sender": "cx@example.test", "to": "x@example.test"}}, 0, "Kim")
        _alerting(store, write)
        r = alerts.run_alerts(store, "t", deliver=False)
        rep = channels.deliver_pending(store, "t", retries=3, pause_s=0.01)
        assert rep["sent"] == 1 and flaky.calls == 3 and len(flaky.bodies) == 1
        assert [c for _, c, _ in rep["failed"]] == ["email"]
        assert "ConnectionRefusedError" in rep["failed"][0][2] and "1 failed" in channels.describe(rep)
        d = channels.deliveries(store, "t")
        em = d.filter(d["channel"] == "email").row(0, named=True)
        assert em["status"] == "failed" and em["attempts"] == 1 and "Connection" in em["last_error"]
        # later runs retry the failed one (not the sent one) until MAX_ATTEMPTS, then give up
        for _ in range(channels.MAX_ATTEMPTS - 1):
            rep = channels.deliver_pending(store, "t", retries=1, pause_s=0)
        assert rep["gave_up"] == 1 and len(flaky.bodies) == 1
        assert channels.deliver_pending(store, "t", retries=1, pause_s=0)["failed"] == []  # given up: not tried again
        assert r["new"]
    finally:
        flaky.close()


def test_a_dead_channel_never_fails_the_import(store, write):
    channels.save_config(store, {"webhook": {"url": f"http://127.0.0.1:{_closed_port()}/x"}}, 0, "Kim")
    _alerting(store, write)
    rep = store.import_file(write("i2.csv", EVENTS), kind="interactions", dataset="t", mode="replace")
    assert rep.accepted == 6
    d = channels.deliveries(store, "t")
    assert d.height == 1 and d["status"][0] == "failed"  # tried by the import's hook, recorded, reported


def test_a_delivery_cut_off_mid_send_is_not_sent_again(store, write, hook):
    channels.save_config(store, {"webhook": {"url": hook.url}}, 0, "Kim")
    _alerting(store, write)
    alerts.run_alerts(store, "t", deliver=False)
    key = alerts.inbox(store, "t")["event_key"][0]
    channels.queue(store, store.dataset("t").id, [key], ["webhook"])
    store.con.sql("UPDATE cx_meta.loop_deliveries SET status = 'sending', attempts = 1")  # as a killed sender leaves it
    rep = channels.deliver_pending(store, "t")
    assert rep["unknown"] == 1 and rep["sent"] == 0 and hook.bodies == []
    assert channels.deliveries(store, "t")["status"].to_list() == ["unknown"]


def test_channel_settings_are_checked(store):
    import cx

    with pytest.raises(cx.CXError, match="https://"):
        channels.save_config(store, {"webhook": {"url": "ftp://x"}}, 0, "Kim")
    with pytest.raises(cx.CXError, match="recipient"):
        channels.save_config(store, {"email": {"host": "h", "sender": "a@b"}}, 0, "Kim")
