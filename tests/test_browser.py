"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser) against the
real server on a free loopback port."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CX_DB": str(db)}
        # the server's own log, printed by stop(): pytest shows it with a failing test
        self.log = open(f"{db}.server.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(self.url + "/_stcore/health", timeout=1).read() == b"ok":
                    return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.25)
        self.stop()
        raise RuntimeError("the app never became healthy")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except Exception:  # noqa: BLE001
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()
        with open(self.log.name) as f:
            print("server log (last lines):", *f.readlines()[-40:], sep="\n")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def settle(page, timeout=90_000):
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout)
    page.wait_for_function(
        "() => { const a = document.querySelector(\"[data-testid='stApp']\");"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'; }", timeout=timeout)
    page.wait_for_timeout(300)


def test_overview_upload_map_import(browser, tmp_path):
    server = Server(tmp_path / "b.duckdb")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url, wait_until="domcontentloaded")
        settle(page)
        # the demo overview, loaded by itself
        page.get_by_text("Active customers", exact=True).first.wait_for(timeout=60_000)
        assert page.locator("[data-testid='stMetricValue']").count() == 9
        page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)  # plotly draws lazily
        assert page.locator(".js-plotly-plot").count() == 2
        assert page.locator("[data-testid='stException']").count() == 0
        # upload a CSV through the real widget on the Data page
        page.get_by_role("link", name="Data").click()
        settle(page)
        csv = tmp_path / "web_visits.csv"
        csv.write_text("user_id,event_time,event,channel,revenue\nu1,2025-02-01T10:00:00Z,homepage,web,\n"
                       "u1,2025-02-01T10:04:00Z,order_placed,web,25.50\nu2,2025-02-02T11:00:00Z,pricing_page,web,\n")
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(csv))
        page.get_by_role("button", name="Check every row").wait_for(timeout=60_000)
        page.get_by_role("button", name="Check every row").click()
        settle(page)
        page.get_by_text("Rows read").wait_for(timeout=60_000)
        page.get_by_role("button", name="Import 3 rows").click()
        settle(page)
        page.get_by_text("3 accepted").wait_for(timeout=60_000)
        # the new dataset is picked in the sidebar
        assert "dataset=web_visits" in page.url
        page.get_by_role("link", name="Overview").click()
        settle(page)
        page.get_by_text("2 customers, 3 touchpoints").wait_for(timeout=60_000)  # the new dataset's figures
    finally:
        server.stop()


def test_deep_link_first_on_a_fresh_server(browser, tmp_path):
    server = Server(tmp_path / "d.duckdb")
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url + "/data", wait_until="domcontentloaded")  # the very first request
        settle(page)
        assert page.get_by_role("heading", name="Data").count() == 1
        sidebar = page.locator("[data-testid='stSidebar']")
        assert sidebar.get_by_text("Dataset").count() >= 1  # the shared sidebar, not the legacy one
        assert sidebar.get_by_role("link", name="Overview").count() == 1
        page.goto(server.url + "/?channel=web", wait_until="domcontentloaded")
        settle(page)
        assert "web" in page.locator("[data-testid='stSidebar']").inner_text()
    finally:
        server.stop()


def test_shared_link_presentation_mode_and_html_report(browser, tmp_path):
    from playwright.sync_api import expect

    server = Server(tmp_path / "s.duckdb")
    try:
        # a shared link opens the same view on a fresh session: filters and the page's own choice
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.goto(server.url + "/?channel=web&period=week", wait_until="domcontentloaded")
        settle(page)
        page.get_by_text("Active customers", exact=True).first.wait_for(timeout=90_000)
        sidebar = page.locator("[data-testid='stSidebar']")
        assert "web" in sidebar.locator("[data-testid='stMultiSelect']").first.inner_text()
        assert "Last full week" in page.locator("[data-testid='stMain']").inner_text()
        # the sidebar shows the link to this exact view, with the filters in it
        code = sidebar.locator("[data-testid='stCode']").inner_text()
        assert "channel=web" in code and "period=week" in code
        # the view as a self-contained HTML report that opens offline
        # a click that lands while the page is still rerunning (the first run of a shared link
        # reruns once the page reports its URL choices) can be lost, as it would be for a user:
        # let the page settle, and click once more if no download starts
        settle(page)
        button = sidebar.get_by_role("button", name="Download this view (HTML)")
        for attempt in range(2):
            try:
                # a download in flight (or a reconnecting page) disables the button until it is done
                expect(button).to_be_enabled(timeout=120_000)
                with page.expect_download(timeout=60_000) as dl:
                    button.click()
                break
            except Exception as e:  # playwright's TimeoutError
                if type(e).__name__ != "TimeoutError":
                    raise
                if attempt:
                    raise
                settle(page)
        report = tmp_path / "report.html"
        dl.value.save_as(report)
        text = report.read_text()
        assert "<h1>Overview</h1>" in text and "channels: web" in text
        assert text.count('class="plotly-graph-div"') == 2 and "src=\"http" not in text
        offline = browser.new_context(offline=True).new_page()
        offline.goto(report.as_uri())
        offline.locator(".js-plotly-plot").nth(1).wait_for(timeout=30_000)
        assert offline.locator(".js-plotly-plot").count() == 2
        # presentation mode: no sidebar, bigger charts; and back
        sidebar.get_by_text("Presentation mode").click()
        settle(page)
        page.get_by_role("button", name="Exit presentation").wait_for(timeout=60_000)
        assert "present=1" in page.url
        assert not page.locator("[data-testid='stSidebar']").is_visible()
        page.get_by_role("button", name="Exit presentation").click()
        settle(page)
        page.locator("[data-testid='stSidebar']").wait_for(state="visible", timeout=60_000)
        assert "present=1" not in page.url
    finally:
        server.stop()


def test_segment_pick_export_save_and_filter_other_pages(browser, tmp_path):
    """The analyst's segment flow in a real browser: a persona, then a behaviour cluster within it
    (deep link); the members' CSV through the real download button; saved as a segment; then that
    segment, picked by link, restricts the Overview to exactly those customers."""
    import csv
    import io
    import re
    import urllib.parse

    from playwright.sync_api import expect

    server = Server(tmp_path / "s.duckdb")
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(server.url + "/segments?tab=" + urllib.parse.quote("Persona × behaviour") + "&sg_persona=Researcher",
                  wait_until="domcontentloaded")
        settle(page, timeout=180_000)
        head = page.get_by_text(re.compile(r"^Researcher × \d+\. .+ · [\d,]+ customers$")).first
        head.wait_for(timeout=180_000)
        settle(page, timeout=180_000)  # the members' outcomes finish drawing
        label, n = re.match(r"^(Researcher × \d+\. .+) · ([\d,]+) customers$", head.inner_text().strip()).groups()
        n = int(n.replace(",", ""))
        assert 50 < n < 1000  # one persona's main behaviour: a few hundred of the demo's 5,000
        assert page.locator("[data-testid='stException']").count() == 0
        # the members' CSV, downloaded: one row per member, the ids the table links to
        button = page.locator(".st-key-sg_members_csv").get_by_role("button", name="CSV").first
        expect(button).to_be_enabled(timeout=120_000)
        with page.expect_download(timeout=60_000) as dl:
            button.click()
        text = open(dl.value.path(), encoding="utf-8").read()
        assert text.splitlines()[0].startswith("customer,")  # readable names first, the machine names next
        rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
        assert len(rows) == n and len({r["customer_id"] for r in rows}) == n
        assert rows[0]["customer_id"].startswith("C")
        # saved as a segment under its default name (the label)
        page.locator(".st-key-sg_save").get_by_role("button", name="Save segment").first.click()
        settle(page)
        page.get_by_text(f"({n:,} customers)", exact=False).first.wait_for(timeout=60_000)
        # that segment as a global filter, by link: the Overview counts exactly its members
        page.goto(server.url + "/?segment=" + urllib.parse.quote(label), wait_until="domcontentloaded")
        settle(page, timeout=180_000)
        page.get_by_text(f"; {n:,} customers,", exact=False).first.wait_for(timeout=120_000)
        assert f"segment: {label}" in page.locator("[data-testid='stSidebar']").inner_text()
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        server.stop()
