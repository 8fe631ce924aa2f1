"""Issue 15, point 5: the matching page driven in Debian's Chromium (Playwright, headless)
against a real ``changfang serve``: search, open a demand and see the listing the API
ranks first, refuse it and see it gone, sign another and see a global run lock it,
upload a file with a bad row and see it reported; no request leaves 127.0.0.1, the
token never appears in a URL, contacts only for staff, phones and desktops, keyboard.

Screenshots of every page at 360 and 1280 px are saved for review in the folder named
by ``$CHANGFANG_SCREENSHOTS`` (default: a temporary folder), printed by the tests."""

import contextlib
import os
import re
from pathlib import Path

import pytest

from matcher import generate_market
from tests.browser import chromium, chromium_or_skip
from tests.service.conftest import AUTH, TOKEN, start_server

httpx = pytest.importorskip("httpx")

SECRET = "SECRETPHONE"
WIDTHS = (360, 1280)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = Path(os.environ.get("CHANGFANG_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the matching page: {folder}")
    return folder


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    m = generate_market(80, 60, seed=8)
    s = start_server(tmp_path_factory.mktemp("page") / "market.db")
    with s.client() as c:
        for path, recs in (("/v1/listings", m.listings), ("/v1/demands", m.demands)):
            rows = recs.text_rows()
            for k, row in enumerate(rows):
                row["contact"] = f"张先生 {SECRET}{k}"
            assert c.put(path, json=rows, headers=AUTH).status_code == 200
    yield s, m
    s.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def expect(locator):
    chromium_or_skip()
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


@contextlib.contextmanager
def page_at(browser, site, width):
    """A page of the site in a fresh context; every request is logged, and any that would
    leave the server (another host, another port) is refused and fails the test."""
    s, _ = site
    touch = width < 500
    ctx = browser.new_context(viewport={"width": width, "height": 800}, has_touch=touch, is_mobile=touch,
                              device_scale_factor=1, locale="zh-CN")
    log = {"requests": [], "refused": [], "errors": []}

    def guard(route):
        url = route.request.url
        if url.startswith((s.url + "/", "blob:" + s.url, "data:")):
            route.continue_()
        else:
            log["refused"].append(url)
            route.abort()

    ctx.route("**/*", guard)
    page = ctx.new_page()
    page.on("request", lambda r: log["requests"].append(r.url))
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    try:
        yield page, log
        assert log["refused"] == [], log["refused"]
        assert all(re.match(r"^(http://127\.0\.0\.1:\d+/|data:|blob:http://127\.0\.0\.1:\d+/)", u)
                   for u in log["requests"]), log["requests"]
        assert not any(TOKEN in u for u in log["requests"])  # the token never in a URL
        assert log["errors"] == []
    finally:
        ctx.close()


def login(page):
    page.fill("#token", TOKEN)
    page.press("#token", "Enter")
    page.wait_for_selector("text=工作人员：工作人员")


def api(site, path, **kw):
    s, _ = site
    with s.client() as c:
        r = c.get(path, headers=AUTH, **kw)
        assert r.status_code == 200, r.text
        return r.json()


def fits(page, width):
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_search_open_refuse_sign_and_a_run_locks_it(browser, site, shots):
    s, m = site
    with page_at(browser, site, 1280) as (page, log):
        page.goto(s.url + "/")
        page.wait_for_selector("#result-list li")
        # search by company text: the demand's own row comes back
        company = str(m.demands.company[3])
        page.fill("#f-q", company)
        page.click("button[type=submit]:has-text('查找')")
        page.wait_for_selector("#result-list li")
        expect(page.locator("#result-list li")).to_have_count(1)
        assert "/?side=demands" in page.url and "q=" in page.url
        counts = page.text_content("#tab-demands")
        assert "（1）" in counts
        # pick a demand with several feasible listings, reached by clicking in the list
        demand = next(str(d) for d in m.demands.demand_id
                      if len(api(site, f"/v1/demands/{d}/recommendations", params={"k": 5})["recommendations"]) >= 3)
        page.fill("#f-q", demand)
        page.click("button[type=submit]:has-text('查找')")
        expect(page.locator("#result-list li")).to_have_count(1)
        page.click("#result-list li a")
        page.wait_for_selector("#recs[data-state=ready]")
        assert page.url == f"{s.url}/demands/{demand}"
        recs = api(site, f"/v1/demands/{demand}/recommendations", params={"k": 10})["recommendations"]
        want = [r["id"] for r in recs]
        shown = page.eval_on_selector_all("#rec-list > li", "els => els.map(e => e.dataset.id)")
        assert shown == want
        assert SECRET not in page.content()  # no contacts without the token
        assert page.query_selector("#rec-list button") is None  # no feedback buttons either
        page.wait_for_selector("#record-map")
        # staff log in once: contacts appear, the token stays in this tab's sessionStorage
        login(page)
        page.wait_for_selector("#recs[data-state=ready] #rec-list button")
        assert SECRET in page.text_content("main")
        assert page.evaluate("sessionStorage.getItem('changfang.token')") == TOKEN
        assert page.evaluate("localStorage.length") == 0 and TOKEN not in page.url
        # refuse the first: it is gone, and stays gone after a reload
        first = want[0]
        item = page.locator(f"#rec-list > li[data-id='{first}']")
        item.locator("button:has-text('不合适')").click()
        page.fill(f"#rec-list > li[data-id='{first}'] input", "面积偏小")
        page.click(f"#rec-list > li[data-id='{first}'] button:has-text('确认不合适')")
        expect(page.locator(f"#rec-list > li[data-id='{first}']")).to_have_count(0)
        page.wait_for_selector("#recs[data-state=ready]")
        page.reload()
        page.wait_for_selector("#recs[data-state=ready] #rec-list button")
        shown = page.eval_on_selector_all("#rec-list > li", "els => els.map(e => e.dataset.id)")
        assert first not in shown and shown[0] == want[1]
        assert "面积偏小" in page.text_content("#history")
        # sign the new first
        page.click(f"#rec-list > li[data-id='{want[1]}'] button:has-text('已签约')")
        page.wait_for_selector("#history td .badge.signed")
        # a global run locks the signed pair
        page.click("nav a:has-text('全局匹配')")
        page.wait_for_selector("#r-method")
        page.select_option("#r-method", "one_to_one")
        page.click("button:has-text('开始匹配')")
        page.wait_for_url(re.compile(r".*/runs/[0-9a-f]{32}$"), timeout=120_000)
        row = page.locator(f"#pairs-table tr[data-demand='{demand}'][data-listing='{want[1]}']")
        row.wait_for()
        assert "已签约锁定" in row.text_content()
        assert page.locator(f"#pairs-table tr[data-demand='{demand}'][data-listing='{first}']").count() == 0
        # the run's workbook downloads without the token in any URL
        with page.expect_download() as dl:
            page.click("button:has-text('下载 result.xlsx')")
        assert dl.value.suggested_filename == "result.xlsx"
        assert len(log["refused"]) == 0


def test_upload_reports_the_bad_row(browser, site, tmp_path):
    s, _ = site
    f = tmp_path / "房源登记.csv"
    f.write_bytes("编号,租售类型,镇街,面积,租金\nPG-1,出租,周巷,1000平,15元/平/月\nPG-2,出租,周巷,约几百平,12\n"
                  .encode("gb18030"))
    with page_at(browser, site, 360) as (page, _):
        page.goto(s.url + "/upload")
        page.wait_for_selector("text=仅限工作人员")
        login(page)
        page.wait_for_selector("#u-file")
        page.set_input_files("#u-file", str(f))
        page.click("button:has-text('上传并校验')")
        page.wait_for_selector("#rejects-table")
        cells = page.eval_on_selector_all("#rejects-table tbody tr td", "tds => tds.map(t => t.textContent)")
        assert cells[:4] == ["3", "PG-2", "面积（㎡）", "约几百平"] and cells[4]
        assert "已保存 1 条" in page.text_content("#upload-result")
        assert fits(page, 360)
    with s.client() as c:
        assert c.get("/v1/listings/PG-1").status_code == 200 and c.get("/v1/listings/PG-2").status_code == 404


def test_errors_keyboard_and_direct_urls(browser, site):
    s, m = site
    with page_at(browser, site, 1280) as (page, _):
        page.goto(s.url + "/demands/NOPE-404")
        page.wait_for_selector("[role=alert]")
        assert "未找到" in page.text_content("[role=alert]")
        page.goto(s.url + "/runs")  # without the token: a clear message, no data
        page.wait_for_selector("text=仅限工作人员")
        # keyboard: skip link, then the search form, then a result, opened with Enter
        page.goto(s.url + "/?side=listings")
        page.wait_for_selector("#result-list li a")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.focus("#result-list li a")
        target = page.get_attribute("#result-list li a", "href")
        page.keyboard.press("Enter")
        page.wait_for_selector("#recs[data-state=ready]")
        assert page.url == s.url + target
        assert page.evaluate("document.activeElement.tagName") == "H1"
        for label in ("#f-q", "#f-town"):  # every control has a label
            page.goto(s.url + "/")
            page.wait_for_selector(label)
            assert page.evaluate(f"document.querySelector('{label}').labels.length") == 1
        # the server's error comes back as a clear message with a retry button
        page.route("**/v1/demands/*/recommendations*", lambda r: r.fulfill(status=503, body="{}"))
        page.goto(s.url + f"/demands/{m.demands.demand_id[0]}")
        page.wait_for_selector("#recs[data-state=error] [role=alert]")
        assert "服务器正忙" in page.text_content("#recs") and page.locator("#recs button:has-text('重试')").count() == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_and_is_saved(browser, site, shots, width):
    s, m = site
    did, lid = str(m.demands.demand_id[1]), str(m.listings.listing_id[1])
    with s.client() as c:
        run = c.post("/v1/match", json={"top_k": 3}, headers=AUTH).json()["id"]
    pages = [("search", "/", "#result-list li"), ("demand", f"/demands/{did}", "#record-map"),
             ("listing", f"/listings/{lid}", "#record-map"), ("runs", "/runs", "#runs-table"),
             ("run", f"/runs/{run}", "#pairs-table"), ("upload", "/upload", "#u-file")]
    with page_at(browser, site, width) as (page, _):
        page.goto(s.url + "/")
        login(page)
        for name, path, ready in pages:
            page.goto(s.url + path)  # opened directly, as from a WeChat link
            page.wait_for_selector(ready)
            page.wait_for_load_state("networkidle")
            assert fits(page, width), (name, page.evaluate("document.documentElement.scrollWidth"))
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    assert all((shots / f"{n}-{width}.png").stat().st_size > 5000 for n, _, _ in pages)
