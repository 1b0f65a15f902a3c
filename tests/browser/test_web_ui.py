"""The read-only Web UI in headless Chromium against a real kukeond (real containerd,
runc, CNI, cgroups): the hierarchy, a cell's live log, live updates without a reload,
escaping of whatever manifests and logs hold, and the read-only / loopback guarantees."""

from __future__ import annotations

import http.client
import json
import subprocess
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from kukeon.api import kukeon_pb2 as pb
from tests.browser.conftest import WebKukeond, free_port, screenshot, tcp_listeners
from tests.fixtures.kukeond import Kukeond, running

pytestmark = pytest.mark.integration

EVIL = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>"
TICKER = "default/default/default/ticker"
BROKEN = (
    "apiVersion: v1beta1\nkind: Cell\nmetadata: {name: ticker}\nspec: {'<script>x</script>': 1}\n"
)


def cell_yaml(name: str, *, cmd: str, label: str = "web", env: str = "A=1") -> str:
    return f"""
apiVersion: v1beta1
kind: Cell
metadata:
  name: {name}
  labels: {{app: {json.dumps(label)}}}
spec:
  containers:
    - id: main
      image: docker.io/library/busybox:latest
      command: [/bin/sh, -c, {json.dumps(cmd)}]
      env: [{json.dumps(env)}]
"""


TICK = 'echo "$EVIL"; i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.5; done'


def wait(driver: webdriver.Chrome, what: str, cond, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05).until(lambda d: cond(d))
    except Exception as err:
        raise AssertionError(f"timed out waiting for {what}") from err


def row(driver: webdriver.Chrome, path: str) -> list:  # type: ignore[type-arg]
    return driver.find_elements(By.CSS_SELECTOR, f'tr[data-path="{path}"]')


def not_pwned(driver: webdriver.Chrome) -> None:
    assert driver.execute_script("return window.__pwned === undefined")
    assert not driver.find_elements(By.CSS_SELECTOR, "#view script, #view img")


def test_hierarchy_cell_log_live_updates_and_escaping(
    web_kukeond: WebKukeond, browser: webdriver.Chrome
) -> None:
    d = web_kukeond
    (d.manifests / "ticker.yaml").write_text(
        cell_yaml("ticker", cmd=TICK, label=EVIL, env=f"EVIL={EVIL}")
    )
    d.wait_phase(TICKER, "Ready")

    # hierarchy: realm -> space -> stack -> cell -> container, with phase and IP
    started = time.monotonic()
    browser.get(d.url + "/")
    cells = wait(browser, "the cell row", lambda b: row(b, TICKER))
    first_render = time.monotonic() - started
    text = cells[0].text
    assert "Ready" in text and "10.218." in text, text
    for path in ("default", "default/default", "default/default/default", TICKER + "/main"):
        assert row(browser, path), f"no row for {path}"
    assert "running" in row(browser, TICKER + "/main")[0].text
    assert EVIL in cells[0].text  # the label, shown as text
    not_pwned(browser)
    screenshot(browser, "hierarchy")

    # a new cell appears without a reload
    browser.execute_script("window.__sameDocument = 1")
    (d.manifests / "second.yaml").write_text(cell_yaml("second", cmd="sleep 1000"))
    second = "default/default/default/second"
    wait(
        browser, "the new cell", lambda b: row(b, second) and "Ready" in row(b, second)[0].text, 60
    )
    assert browser.execute_script("return window.__sameDocument") == 1

    # the cell page: status, spec, events and the log, which grows live
    browser.find_element(By.CSS_SELECTOR, f'tr[data-path="{TICKER}"] a').click()
    log = wait(
        browser,
        "log lines",
        lambda b: "tick-" in b.find_element(By.ID, "log").text and b.find_element(By.ID, "log"),
    )
    seen = max(int(w[5:]) for w in log.text.split() if w.startswith("tick-"))
    wait(
        browser,
        "a newer log line",
        lambda b: f"tick-{seen + 2}" in b.find_element(By.ID, "log").text,
    )
    assert browser.execute_script("return window.__sameDocument") == 1
    assert EVIL in log.text  # a log line holding markup is text
    assert EVIL in browser.find_element(By.ID, "labels").text
    assert "busybox" in browser.find_element(By.ID, "manifest").text
    assert str(time.localtime().tm_year) in browser.find_element(By.ID, "since").text
    wait(
        browser,
        "the cell's events",
        lambda b: "ticker" in b.find_element(By.CSS_SELECTOR, ".grid").text,
    )
    not_pwned(browser)
    screenshot(browser, "cell")

    # events, sources (with a broken file whose error quotes markup) and the plan
    (d.manifests / "broken.yaml").write_text(BROKEN)
    browser.get(d.url + "/#/sources")
    wait(
        browser,
        "the broken file's error",
        lambda b: (
            "broken.yaml" in b.find_element(By.ID, "view").text
            and b.find_elements(By.CSS_SELECTOR, "pre.error")
        ),
    )
    assert "<script>x</script>" in browser.find_element(By.CSS_SELECTOR, "pre.error").text
    not_pwned(browser)
    screenshot(browser, "sources")
    browser.get(d.url + "/#/events")
    wait(browser, "events", lambda b: len(b.find_elements(By.CSS_SELECTOR, "#events tr")) > 2)
    before = len(browser.find_elements(By.CSS_SELECTOR, "#events tr"))
    (d.manifests / "second.yaml").unlink()  # an event arrives on the open stream
    wait(
        browser,
        "a live event",
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "#events tr")) > before,
        30,
    )
    screenshot(browser, "events")
    browser.get(d.url + "/#/plan")
    wait(browser, "the plan", lambda b: "Last pass #" in b.find_element(By.ID, "view").text)
    # what kukeond did, with causes: the UI was up before the cells were applied
    done = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#view tr")]
    assert any("create-container" in t and f"{TICKER}/main" in t for t in done), done
    screenshot(browser, "plan")
    print(f"hierarchy page: first render with the cell in {first_render * 1000:.0f} ms")


ROUTES = [
    "/", "/static/app.js", "/static/app.css", "/api/status", "/api/hierarchy", "/api/resources",
    "/api/resource?path=default", "/api/events", "/api/events/stream", "/api/sources", "/api/plan",
    f"/api/logs?cell={TICKER}", f"/api/logs/stream?cell={TICKER}", "/nope",
]  # fmt: skip


def request(
    url: str, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request(
            method, path, body=b"x" if method in ("POST", "PUT") else None, headers=headers or {}
        )
        resp = conn.getresponse()
        body = (
            resp.read()
            if not path.startswith(("/api/events/stream", "/api/logs/stream"))
            or resp.status != 200
            or method == "HEAD"
            else b""
        )
        return resp.status, dict(resp.getheaders()), body
    finally:
        conn.close()


def test_every_route_is_read_only_and_loopback_only(web_kukeond: WebKukeond) -> None:
    d = web_kukeond
    (d.manifests / "ticker.yaml").write_text(cell_yaml("ticker", cmd="sleep 1000"))
    d.wait_phase(TICKER, "Ready")
    before = d.api.Status(pb.StatusRequest()).sources
    for path in ROUTES:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, headers, _ = request(d.url, method, path)
            assert status == 405, (method, path, status)
            assert headers["Allow"] == "GET, HEAD"
        status, headers, body = request(d.url, "HEAD", path)
        assert body == b""
        assert status == (404 if path == "/nope" else 200), (path, status)
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert d.api.Status(pb.StatusRequest()).sources == before
    # a name that rebinds to 127.0.0.1 gets nothing
    status, _, _ = request(d.url, "GET", "/api/status", {"Host": "evil.example:80"})
    assert status == 403
    # listening on loopback only
    assert d.proc is not None
    listeners = tcp_listeners(d.proc.pid)
    assert listeners == [d.url.removeprefix("http://")], listeners

    # latency of the JSON endpoints (loopback, one connection each)
    for path in ("/api/hierarchy", f"/api/resource?path={TICKER}", "/api/plan", "/api/status"):
        samples = []
        for _ in range(20):
            t = time.perf_counter()
            status, _, _ = request(d.url, "GET", path)
            samples.append(time.perf_counter() - t)
            assert status == 200
        samples.sort()
        print(f"{path}: median {samples[10] * 1000:.1f} ms, max {samples[-1] * 1000:.1f} ms")


def test_web_ui_is_off_by_default_and_never_public_without_a_token(kukeond: Kukeond) -> None:
    assert kukeond.proc is not None
    assert tcp_listeners(kukeond.proc.pid) == []  # no --web: nothing listens at all
    public = [*kukeond.argv(), "--web", f"0.0.0.0:{free_port()}"]
    done = subprocess.run(public, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "refusing to serve the web UI on non-loopback" in done.stderr, done.stderr


def test_token_guards_a_non_loopback_address(
    tmp_path: Path,
    instance: str,
    containerd_socket: str,
    busybox_archive: Path,
    browser: webdriver.Chrome,
) -> None:
    port = free_port()
    config = tmp_path / "kukeond.yaml"
    config.write_text(
        "apiVersion: v1beta1\nkind: ServerConfiguration\n"
        f"spec:\n  web: {{listen: '0.0.0.0:{port}', token: s3cret}}\n"
    )
    d = WebKukeond(tmp_path, instance, containerd_socket)
    d.extra_args = ["--config", str(config)]
    d.url = f"http://127.0.0.1:{port}"
    with running(d, busybox_archive):
        assert d.proc is not None
        assert tcp_listeners(d.proc.pid) == [f"0.0.0.0:{port}"]
        assert request(d.url, "GET", "/api/status")[0] == 401
        assert request(d.url, "GET", "/api/status?token=wrong")[0] == 401
        assert request(d.url, "GET", "/api/status", {"Authorization": "Bearer wrong"})[0] == 401
        assert request(d.url, "GET", "/api/status?token=s3cret")[0] == 200
        ok = request(d.url, "GET", "/api/status", {"Authorization": "Bearer s3cret"})
        assert ok[0] == 200 and json.loads(ok[2])["instance"] == instance
        assert request(d.url, "GET", "/")[0] == 200  # the page itself holds no data
        assert request(d.url, "POST", "/api/status?token=s3cret")[0] == 405
        browser.get(d.url + "/?token=s3cret#/")
        wait(browser, "the hierarchy with the token", lambda b: row(b, "default/default/default"))
        browser.get(d.url + "/#/")
        wait(browser, "the refusal", lambda b: "401" in b.find_element(By.ID, "view").text)
