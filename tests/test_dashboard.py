"""The dashboard: its model and panels, its clear error for a bad scenario, and the whole app
in a real browser (headless Chromium driven by Playwright), with a screenshot kept in
tests/artifacts/dashboard.png."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from em_abm.cli import main
from em_abm.metrics import COLUMN_INDEX
from em_abm.viz.dashboard import DashboardModel, model_params

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_dashboard_model_starts_at_the_scenario_start_and_counts_by_area():
    m = DashboardModel(scale=0.05, years=0.1)
    assert m.day == -1 and len(m.recorded()) == 0
    while m.running:
        m.step()
    assert m.day == m.n_days - 1 and len(m.recorded()) == m.n_days
    areas = m.by_area()
    assert all(len(v) == 43 for v in areas.values())
    # Today's national count is the sum over the areas.
    assert areas["tagged"].sum() == m.recorded()[-1][COLUMN_INDEX["tagged"]]


def test_every_control_is_a_keyword_of_the_model():
    import inspect

    accepted = set(inspect.signature(DashboardModel.__init__).parameters)
    assert set(model_params("baseline_2026")) <= accepted
    # A less capable field force leaves more visits outstanding (a control that matters).
    low = DashboardModel(scale=0.05, years=0.2, field_capacity=0.3)
    high = DashboardModel(scale=0.05, years=0.2, field_capacity=2.0)
    for m in (low, high):
        while m.running:
            m.step()
    assert low.by_area()["visits"].sum() > high.by_area()["visits"].sum()


def test_panels_draw_quickly_at_scale_0_1():
    from em_abm.viz import components as C

    m = DashboardModel(scale=0.1, years=0.5)
    for _ in range(60):
        m.step()
    C.series_figure(m).savefig(os.devnull, format="png", dpi=80)  # warm up matplotlib
    t0 = time.perf_counter()
    m.step()
    C.map_figure(m, next(iter(C.COLOUR_BY))).savefig(os.devnull, format="png", dpi=90)
    C.series_figure(m).savefig(os.devnull, format="png", dpi=80)
    assert time.perf_counter() - t0 < 3.0  # under a second here; slack for a busy machine


def test_a_bad_scenario_gives_the_same_error_as_run(capsys):
    assert main(["run", "nosuch", "--years", "0.1"]) == 2
    run_err = capsys.readouterr().err
    assert main(["dashboard", "nosuch"]) == 2
    assert capsys.readouterr().err == run_err and run_err.count("\n") == 1


def test_a_port_in_use_is_one_line_and_exit_2(capsys):
    with socket.socket() as s:
        s.bind(("localhost", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"--port: localhost:{port} cannot be used" in err and err.count("\n") == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not found: install Debian's package (apt-get install -y chromium) to run "
    "the browser test",
)
def test_the_dashboard_in_a_real_browser():
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "em_abm", "dashboard", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for(f"http://localhost:{port}/", 90)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            # Every file from this server, none failing (404s and the like), no errors.
            problems = []
            page.on("console", lambda m: m.type == "error" and problems.append(m.text))
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"{r.url} {r.failure}"))
            page.on(
                "response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}")
            )
            page.on("request", lambda r: r.url.startswith((f"http://localhost:{port}/", "blob:"))
                    or problems.append(f"off this server: {r.url}"))  # fmt: skip
            page.goto(f"http://localhost:{port}/", timeout=90_000)
            expect(page.get_by_text("press ▶ or Step")).to_be_visible(timeout=90_000)
            images = page.locator("img")

            def panel_sources():
                return [images.nth(i).get_attribute("src") for i in range(images.count())]

            page.get_by_role("button", name="Step").click()
            expect(page.get_by_text("Day 1 of")).to_be_visible(timeout=30_000)
            before = panel_sources()
            # Play for several simulated days, then pause. (On a busy machine each rendered
            # day can take seconds, hence the generous timeouts.)
            page.get_by_role("button", name="▶").click()
            expect(page.get_by_role("button", name="❚❚")).to_be_visible(timeout=30_000)
            page.wait_for_function(
                "() => { const m = document.body.innerText.match(/Day (\\d+) of/);"
                " return m && Number(m[1]) >= 5; }",
                timeout=180_000,
            )
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="▶")).to_be_visible(timeout=30_000)
            played = panel_sources()
            assert len(played) >= 2 and played != before  # the map and the series moved on
            # A control: colour the map by notifications awaiting a response instead.
            page.get_by_role("button", name="notifications awaiting a response").click()
            deadline = time.monotonic() + 60
            while panel_sources() == played and time.monotonic() < deadline:
                page.wait_for_timeout(500)
            assert panel_sources() != played
            body = page.inner_text("body")
            assert "error" not in body.lower() and "Traceback" not in body, body[:2000]
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            # Reset builds a fresh model at the scenario's start.
            page.get_by_role("button", name="Reset").click()
            expect(page.get_by_text("press ▶ or Step")).to_be_visible(timeout=60_000)
            assert problems == []
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
