"""Browser tests: Playwright driving Debian's Chromium against the app served on 127.0.0.1."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).parent / "screenshots"


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI must run the browser tests: no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install -y chromium to run browser tests")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # An expectation waits as long as an action does (10 s, below): on a loaded machine (CI runs the suite in
    # parallel) a page's htmx answer may take more than Playwright's default 5 s to show.
    expect.set_options(timeout=10_000)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    SCREENSHOTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"))
    context.close()


def sign_in(page, base: str, email: str, password: str = "password-123") -> None:
    page.goto(f"{base}/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/orders")


def fits(page, selector: str) -> dict:
    """Where `selector` sits against the viewport, and whether anything in it is cut off sideways."""
    return page.eval_on_selector(selector, """el => {
        const box = el.getBoundingClientRect();
        return {left: box.left, right: box.right, viewport: document.documentElement.clientWidth,
                overflow: el.scrollWidth - el.clientWidth};
    }""")


def nav_link(page, name: str):
    """The main navigation's link `name`, opening 「メニュー」 first where the navigation folds behind it (a phone)."""
    menu = page.get_by_role("button", name="メニュー")
    if menu.is_visible() and menu.get_attribute("aria-expanded") != "true":
        menu.click()
    return page.get_by_role("navigation", name="メイン").get_by_role("link", name=name, exact=True)


def settled(page) -> None:
    """No htmx request, swap or settle under way. htmx binds swapped-in content (a dialog's form) when it settles,
    a moment after it shows: a click before that posts the form as a plain one."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


# ---- Accessibility: axe-core (npm, pinned in package-lock.json) run in the page ----
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical").flatMap(
    v => v.nodes.map(n => ({rule: v.id, impact: v.impact, target: n.target.join(" "), summary: n.failureSummary})));
}"""


@pytest.fixture
def axe_page(page):
    """The page with axe-core in every document it loads. The app's CSP (default-src 'self') refuses an inline
    <script>, which is what page.add_script_tag makes; an init script is added by the browser itself, under no
    page's CSP, so the CSP stays on and is tested as it is."""
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the accessibility checks: no {AXE} (run `npm ci` at the repository root)")
        pytest.skip("npm ci to run the accessibility checks")
    page.context.add_init_script(path=str(AXE))
    return page


def axe_violations(page) -> list[dict]:
    """axe's serious and critical WCAG 2.1 A/AA violations on the page as it is now: [{rule, impact, target,
    summary}]."""
    return page.evaluate(RUN_AXE, WCAG_AA)
