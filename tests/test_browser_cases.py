"""The closed loop in a real browser (issue 24): a case opened from the Overview's list of urgent cases,
assigned, then resolved under the name typed in the sidebar; the history says who did what, and the
leadership digest lists the case as resolved by its assignee."""
import re

from tests.test_browser import Server, browser, settle  # noqa: F401  (browser: a fixture)

import cx
from cx import cases


def test_open_a_case_from_the_overview_assign_resolve_and_see_it_in_the_digest(browser, tmp_path):  # noqa: F811
    db = tmp_path / "c.duckdb"
    server = Server(db)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url, wait_until="domcontentloaded")
        settle(page, timeout=180_000)
        # the Overview lists the most urgent open cases; the first one opens on the Cases page
        link = page.get_by_role("link", name=re.compile(r"^Case \d+: ")).first
        link.wait_for(timeout=120_000)
        cid = int(re.search(r"Case (\d+):", link.inner_text()).group(1))  # after the icon's name
        link.click()
        page.wait_for_url(re.compile(rf"/cases\?.*case={cid}"), timeout=60_000)
        settle(page, timeout=120_000)
        page.get_by_text(f"Case {cid} · ", exact=False).first.wait_for(timeout=60_000)
        assert page.locator("[data-testid='stException']").count() == 0
        # who acts: a name typed in the sidebar (no login configured)
        name = page.locator("[data-testid='stSidebar']").get_by_label("Your name", exact=True)
        name.fill("Kim Laurent")
        name.press("Enter")
        settle(page)
        # assign it
        form = page.locator("[data-testid='stForm']").filter(has=page.locator(f".st-key-cs_as_{cid}"))
        form.locator(f".st-key-cs_as_{cid} input").fill("Ana Silva")
        form.get_by_role("button", name="Save").click()
        settle(page)
        page.get_by_text("assignee Ana Silva", exact=False).first.wait_for(timeout=30_000)  # the saved case, shown
        # resolve it: the status box offers the moves allowed from where the case is
        form.locator(f".st-key-cs_st_{cid} [data-testid='stSelectbox']").click()
        page.get_by_role("option", name="resolved", exact=True).click()
        form.get_by_role("button", name="Save").click()
        settle(page)
        page.get_by_text(re.compile(rf"^Case {cid} · .* · resolved$")).first.wait_for(timeout=30_000)
        # the digest: resolved in the last week, by its assignee
        page.get_by_role("tab", name="Digest").click()
        settle(page)
        digest = page.locator("[data-testid='stCode']").filter(has_text="CX Loop digest").first
        digest.wait_for(timeout=60_000)
        text = digest.inner_text()
        assert re.search(rf"- case {cid}: .+, customer \S+, by Ana Silva", text), text[:3000]
        assert "Resolved in the last week:" in text
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        server.stop()
    # what was saved: by the name typed in the sidebar, every change in the case's history
    s = cx.open(db, read_only=True)
    row, h = cases.case(s, "demo", cid), cases.history(s, "demo", "case", cid)
    s.close()
    assert row["status"] == "resolved" and row["assignee"] == "Ana Silva" and row["updated_by"] == "Kim Laurent"
    assert row["closed_at"] is not None and row["first_action_at"] is not None
    mine = h.filter(h["who"] == "Kim Laurent")
    assert sorted(mine["field"].to_list()) == ["assignee", "status"]
    assert mine.filter(mine["field"] == "status")["new"].to_list() == ["resolved"]
