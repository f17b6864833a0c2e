"""The web console in a real headless Chromium against a real ``polc serve``: sign-in and sign-out,
every page and the links between them, the filter (live and without JavaScript), markup from every
operator-written field shown as text, the cookie and CSP decisions, and the screenshots in
docs/console/."""

from __future__ import annotations

import re

import httpx
import pytest

from .conftest import (EVIL_ACTOR, EVIL_NOTE, EVIL_REASON, EVIL_REPORT, EVIL_ROLLBACK, OUTSIDER_TOKEN, VIEWER_TOKEN,
                       VIEWPORT, Watch, screenshot, sign_in)


@pytest.fixture(scope="module")
def signed_in(browser, console_server):
    """One browser context holding a console session (what an operator's tab has)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    watch = Watch(page)
    sign_in(page, console_server.url)
    assert page.url.endswith("/console/scopes"), page.url
    yield page, watch
    context.close()


def text_of(page) -> str:
    return page.inner_text("main")


def test_without_a_session_every_page_sends_to_the_login_form_and_sign_out_ends_it(browser, console_server):
    base, v1 = console_server.url, console_server.versions["2026.11.23"]
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    watch = Watch(page)
    for path in ("/console/scopes", "/console/scopes/prod/-/router/history", f"/console/bundles/{v1}",
                 f"/console/diff?old={v1}&new={v1}", "/console/audit"):
        page.goto(base + path)
        assert "/console/login?next=" in page.url and page.is_visible("#token"), (path, page.url)
    screenshot(page, "login")
    watch.clean()

    page.fill("#token", "polc_000000000000_" + "x" * 43)
    page.click("button[type=submit]")
    assert "Not signed in: unknown token" in text_of(page)
    page.fill("#token", OUTSIDER_TOKEN)                      # a valid token, but no grant
    page.click("button[type=submit]")
    assert "holds no grant" in text_of(page)
    watch.problems.clear()                                   # those two answered 401 and 403, as they should

    page.fill("#token", VIEWER_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url == base + "/console/audit"                # back to the page asked for
    cookie = next(c for c in context.cookies() if c["name"] == "polc_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    assert VIEWER_TOKEN not in cookie["value"] and "c0de" not in cookie["value"].split(".")[1]
    page.click("#logout")
    page.wait_for_load_state()
    assert "/console/login" in page.url and "You are signed out." in text_of(page)
    assert not [c for c in context.cookies() if c["name"] == "polc_console"]
    page.goto(base + "/console/scopes")
    assert "/console/login" in page.url
    watch.clean()
    context.close()


def test_every_page_loads_links_work_and_operator_text_is_shown_as_text(signed_in, console_server):
    page, watch = signed_in
    versions = console_server.versions
    v1, v2, v3 = versions["2026.11.23"], versions["2026.12.1"], versions["2026.12.2"]

    # Scopes: every scope with its promoted bundle, since when and by whom; shadow and staged.
    page.goto(console_server.url + "/console/scopes")
    rows = page.locator("#scope-rows tbody tr")
    assert rows.count() == 3
    prod = page.locator("tr", has_text="prod/-/router")
    assert "2026.11.23" in prod.inner_text() and "alice (approver)" in prod.inner_text()
    assert "2026.12.2" in prod.inner_text()                     # in shadow
    assert page.locator("header .note").inner_text() == EVIL_NOTE   # the token's note, as text
    screenshot(page, "scopes")

    # History of prod, through the scope's link: the timeline, the chain, the checkpoint.
    page.click("a:text('prod/-/router')")
    assert page.url.endswith("/console/scopes/prod/-/router/history")
    main = text_of(page)
    assert "match their hashes" in main and "covers the whole log" in main
    assert EVIL_REASON in main and EVIL_ROLLBACK in main and EVIL_ACTOR in main
    assert page.locator("li.operation.grouped").count() == 2   # the promotion that superseded v1, the rollback
    screenshot(page, "history")

    # The drift review from "compare with previous promoted" on v2's promotion.
    page.click(f"a.compare[href*='old={v1}&new={v2}']")
    assert f"old={v1}" in page.url and f"new={v2}" in page.url
    assert page.inner_text("#status") == "WARN"
    assert page.locator(".finding .rule", has_text="DR_TOKEN_BUDGET_RAISED").count() == 1
    main = text_of(page)
    assert "prompts.judge" in main and "<script>alert('prompt')</script>" in main
    assert page.locator("table.split tr.insert, table.split tr.replace").count() >= 1
    assert "fingerprint" in main and "Decision impact" in main
    screenshot(page, "diff")
    page.click("a:text('unified')")
    assert "view=unified" in page.url and page.locator("pre.unified .add").count() >= 1

    # A bundle, from the diff's header: manifest, files, receipts, states, CLI commands.
    page.click(f"a[href='/console/bundles/{v2}']")
    main = text_of(page)
    assert "snapshot.json" in main and "policy.manifest.json" in main
    assert "reflex_promotion" in main and "verified" in main and "PASS" in main
    assert EVIL_REPORT in main
    assert f"polc registry pin {v2} --env prod --policy router" in main
    assert f"polc registry promote {v2} --env prod --policy router --expect-active {v1}" in main
    assert "rolled_back" in main
    screenshot(page, "bundle")

    # Audit: verify on demand and the checkpoint to copy.
    page.click("nav a:text('Audit')")
    page.click("#verify")
    assert page.inner_text("#verify-result").startswith("ok: 18 events, chain intact")
    assert '"format": "polc-checkpoint/v1"' in page.inner_text("#checkpoint")
    screenshot(page, "audit")

    # The bundles of the scopes page link to their pages, and v3's history link from the bundle.
    page.goto(console_server.url + f"/console/bundles/{v3}")
    page.click("a:text('staging/-/router')")
    assert page.url.endswith("/console/scopes/staging/-/router/history")
    watch.clean()


def test_the_filter_works_live_and_without_javascript(browser, signed_in, console_server):
    page, watch = signed_in
    page.goto(console_server.url + "/console/scopes")
    page.fill("#filter", "staging")
    visible = page.locator("#scope-rows tbody tr:visible")
    assert visible.count() == 1 and "staging/-/router" in visible.inner_text()
    page.fill("#filter", "nothing-like-this")
    assert page.locator("#scope-rows tbody tr:visible").count() == 0 and page.is_visible("#scope-rows-empty")
    page.fill("#filter", "acme 2026.11")
    assert page.locator("#scope-rows tbody tr:visible").count() == 1
    watch.clean()

    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)
    plain = context.new_page()
    sign_in(plain, console_server.url)
    plain.fill("#filter", "prod")
    plain.click("form.filter button")
    assert "q=prod" in plain.url
    assert sorted(plain.locator("#scope-rows td.scope").all_inner_texts()) == ["prod/-/router", "prod/acme/router"]
    context.close()


def test_forms_refuse_other_sites_and_every_response_carries_the_csp(console_server):
    base = console_server.url
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as http:
        form = http.get("/console/login")
        csp = form.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert http.get("/healthz").headers["content-security-policy"] == csp
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)[1]
        refused = http.post("/console/login", data={"token": VIEWER_TOKEN})             # no CSRF token
        assert refused.status_code == 403 and "polc_console=" not in refused.headers.get("set-cookie", "")
        cross = http.post("/console/login", data={"token": VIEWER_TOKEN, "csrf": csrf},
                          headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403
        done = http.post("/console/login", data={"token": VIEWER_TOKEN, "csrf": csrf})
        assert done.status_code == 303 and "polc_console=" in done.headers["set-cookie"]
        assert VIEWER_TOKEN not in done.headers["set-cookie"]
        session = http.cookies.get("polc_console")
        http.cookies.clear()
        http.cookies.set("polc_console", session, path="/console")
        page = http.get("/console/audit")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert http.post("/console/audit", data={"csrf": "forged"}).status_code == 403
        tampered = session[:-3] + ("AAA" if not session.endswith("AAA") else "BBB")
        http.cookies.set("polc_console", tampered, path="/console")
        assert http.get("/console/audit").status_code == 303


def test_the_history_the_pages_use_is_paged_in_the_json_api_too(console_server):
    with httpx.Client(base_url=console_server.url, headers={"Authorization": f"Bearer {VIEWER_TOKEN}"},
                      timeout=30) as api:
        every = [e["seq"] for e in api.get("/v1/scopes/prod/-/router/history").json()["events"]]
        newest = [e["seq"] for e in api.get("/v1/scopes/prod/-/router/history?limit=3").json()["events"]]
        older = api.get(f"/v1/scopes/prod/-/router/history?limit=3&before={newest[0]}").json()["events"]
        assert newest == every[-3:] and [e["seq"] for e in older] == every[-6:-3]
        for bad in ("limit=0", "limit=x", "before=5", "limit=1001"):
            refused = api.get(f"/v1/scopes/prod/-/router/history?{bad}")
            assert refused.status_code == 400 and refused.json()["error"]["code"] == "POLC801", bad
