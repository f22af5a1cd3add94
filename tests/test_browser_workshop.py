"""Workshop-ready, in a real browser at 1280×720 (issue 25): the story and presentation mode fit a
16:9 projector with their navigation on screen, no chart label is cut, no raw float shows; the
HTML report draws the same way offline; a choice made on a page goes into the link and the link
brings it back. Screenshots of every story step go to $CX_SHOTS (if set) for a person to look at."""
import os
import re

import pytest

from tests.test_browser import Server, browser, settle  # noqa: F401  (browser: a fixture)

W, H = 1280, 720
RAW_FLOAT = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})*\.\d{4,}(?![\d])|(?<![\d.,])\d{5,}\.\d+")

# every label a chart draws, and the box of its own chart: a label is cut when it leaves the box
CLIPPED_JS = """() => {
  const out = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const box = plot.querySelector('.main-svg').getBoundingClientRect();
    for (const t of plot.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle, '
                                           + '.legendtext, text.bartext, .textpoint text, .annotation-text')) {
      const r = t.getBoundingClientRect();
      if (!r.width) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        out.push(t.textContent);
    }
  }
  return out;
}"""


def _shot(page, name):
    folder = os.environ.get("CX_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"))


def _no_raw_floats(page):
    text = page.inner_text("[data-testid='stMain']") if page.locator("[data-testid='stMain']").count() \
        else page.inner_text("body")
    svg = " ".join(t for t in page.locator(".js-plotly-plot text").evaluate_all("ns => ns.map(n => n.textContent)")
                   if t)
    return RAW_FLOAT.findall(text + " " + svg)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("workshop") / "w.duckdb")
    yield s
    s.stop()


def test_story_in_presentation_mode_fits_a_projector(browser, server):  # noqa: F811
    page = browser.new_page(viewport={"width": W, "height": H})
    for step in range(1, 8):
        page.goto(f"{server.url}/story?step={step}&present=1", wait_until="domcontentloaded")
        settle(page)
        page.locator(".js-plotly-plot, [data-testid='stGraphVizChart']").first.wait_for(timeout=90_000)
        page.wait_for_timeout(600)
        _shot(page, f"story_{step}_present")
        nxt = page.get_by_role("button", name="Next").first
        box = nxt.bounding_box()
        assert box and box["y"] + box["height"] <= H, f"step {step}: Next is below the fold"
        assert page.evaluate(CLIPPED_JS) == [], f"step {step}: labels cut"
        assert _no_raw_floats(page) == [], f"step {step}: unformatted numbers"
        assert page.locator("[data-testid='stException']").count() == 0
    # the arrow key moves on (a keyboard shortcut on Next)
    page.goto(f"{server.url}/story?step=3&present=1", wait_until="domcontentloaded")
    settle(page)
    page.get_by_text("3. Who loops").first.click()  # the page has the focus, as in a room
    page.keyboard.press("ArrowRight")
    settle(page)
    page.get_by_text("4. How they feel").first.wait_for(timeout=60_000)
    page.close()


def test_story_and_pages_at_1280x720_have_no_cut_labels(browser, server):  # noqa: F811
    page = browser.new_page(viewport={"width": W, "height": H})
    for path in ("/story?step=2", "/story?step=7", "/journey?tab=Funnel&fn_breakdown=persona", "/", "/value"):
        page.goto(server.url + path, wait_until="domcontentloaded")
        settle(page)
        page.locator(".js-plotly-plot").first.wait_for(timeout=90_000)
        page.wait_for_timeout(600)
        _shot(page, "page" + re.sub(r"\W+", "_", path))
        assert page.evaluate(CLIPPED_JS) == [], f"{path}: labels cut"
        assert _no_raw_floats(page) == [], f"{path}: unformatted numbers"
    page.close()


def test_the_html_report_draws_uncut_and_formatted(browser, server, tmp_path):  # noqa: F811
    page = browser.new_page(viewport={"width": W, "height": H}, accept_downloads=True)
    page.goto(f"{server.url}/journey?tab=Funnel", wait_until="domcontentloaded")
    settle(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=90_000)
    button = page.locator(".st-key-export_html").get_by_role("button").first
    from playwright.sync_api import expect

    expect(button).to_be_enabled(timeout=120_000)
    with page.expect_download(timeout=60_000) as dl:
        button.click()
    path = tmp_path / "report.html"
    dl.value.save_as(path)
    report = browser.new_page(viewport={"width": W, "height": H})
    report.goto(path.as_uri())
    report.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    report.wait_for_timeout(800)
    _shot(report, "report_journey")
    assert report.evaluate(CLIPPED_JS) == []
    ticks = report.locator(".js-plotly-plot .ytick text").evaluate_all("ns => ns.map(n => n.textContent || '')")
    assert any(t.endswith("discover") for t in ticks) and any(t.endswith("purchase") for t in ticks)
    assert _no_raw_floats(report) == []
    assert "%" in report.inner_text("table")  # percentages read as on the screen
    report.close()
    page.close()


def test_a_choice_goes_into_the_link_and_comes_back(browser, server):  # noqa: F811
    page = browser.new_page(viewport={"width": W, "height": H})
    page.goto(f"{server.url}/journey?tab=Loops", wait_until="domcontentloaded")
    settle(page)
    box = page.get_by_text("Collapse repeats of the same step").first
    box.wait_for(timeout=90_000)
    box.click()
    settle(page)
    page.wait_for_function("() => location.search.includes('lp_collapse=false')", timeout=30_000)
    link = page.url
    other = browser.new_page(viewport={"width": W, "height": H})
    other.goto(link, wait_until="domcontentloaded")
    settle(other)
    checkbox = other.locator(".st-key-lp_collapse input[type='checkbox']").first
    checkbox.wait_for(state="attached", timeout=90_000)
    assert not checkbox.is_checked()
    other.close()
    page.close()


def test_one_click_on_a_customer_list_opens_the_customer(browser, server):  # noqa: F811
    """Issue 25, item 5: one click on a row of a customer list (here a number, not the link) opens
    the customer view on that customer."""
    page = browser.new_page(viewport={"width": W, "height": H})
    page.goto(f"{server.url}/value", wait_until="domcontentloaded")
    settle(page)
    grid = page.locator(".st-key-val_top_open [data-testid='stDataFrameResizable']").first
    grid.wait_for(timeout=120_000)
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + 35 + 35 * 2 + 17)  # the third row, a value cell
    page.wait_for_url(re.compile(r"/customer\?.*customer=[^&]+"), timeout=60_000)
    settle(page)
    page.get_by_text("Touchpoints").first.wait_for(timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()
