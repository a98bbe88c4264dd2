"""The dashboard's security and reliability: it makes no connection off this machine (no
telemetry, version check or CDN), its page asks only its own server for files and none of them
fails, every control's value is checked on the server against what its widget offers (a
scenario path the selector never offers is refused without the file being read), an error shows
as one line, never a traceback, and serving beyond loopback warns that the page has no login.

The first tests are fast and in-process. The last three share one server started with the real
`em-abm dashboard` command, run by this file as a script (see the end) inside a fresh network
namespace with only loopback when `unshare` allows it, which a browser then drives.
"""

import json
import os
import re
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil  # comes with dask's distributed
import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "em_abm" / "viz" / "app.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not found: apt-get install -y chromium runs the browser tests",
)
# A scenario file that loads (sc.load accepts it): were it ever read, it would be run.
ELSEWHERE = 'name = "elsewhere"\nbase = "baseline_2026"\n'


def _unshown(line: str) -> str:
    """A refusal's line with the value it got (shortened when long) as VALUE."""
    return re.sub(r": got .*; allowed: ", ": got VALUE; allowed: ", line, count=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dashboard(monkeypatch, *args) -> tuple[int, list, dict]:
    """`em-abm dashboard ARGS` up to starting Solara: (exit code, its command, its env)."""
    from em_abm.cli import main

    calls = []
    monkeypatch.setattr(subprocess, "call", lambda cmd, env: calls.append((cmd, env)) or 0)
    code = main(["dashboard", "--port", str(_free_port()), *args])
    return code, *(calls[0] if calls else (None, None))


def test_the_server_starts_with_telemetry_version_check_and_cdn_off(monkeypatch):
    from em_abm.viz.offline import ENV

    monkeypatch.setenv("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "true")  # the caller's does not win
    monkeypatch.setenv("VSCODE_PID", "1")  # where Solara would serve the page from its CDN
    code, cmd, env = _dashboard(monkeypatch)
    assert code == 0 and "--no-check-version" in cmd
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"
    assert env["SOLARA_ASSETS_PROXY"] == "true" and not env["SOLARA_ASSETS_CDN"].startswith("http")
    assert {k: env[k] for k in ENV} == ENV
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == "10m"  # a lost session's runs are dropped


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "0.0.0.0"])
def test_a_host_beyond_loopback_warns_that_the_page_has_no_login(monkeypatch, capsys, host):
    if host == "::1":
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback on this machine")
    code, cmd, _ = _dashboard(monkeypatch, "--host", host)
    err = capsys.readouterr().err
    assert code == 0 and cmd[cmd.index("--host") + 1] == host
    if host == "0.0.0.0":
        assert err.count("\n") == 1 and err.startswith("warning: --host 0.0.0.0:")
        assert "no authentication" in err and "anyone who can reach" in err
    else:
        assert err == ""


@pytest.fixture
def solara_settings(monkeypatch):
    """Solara's settings (and the environment) as they are, restored after the test."""
    import solara.server.settings as server
    import solara.settings as base

    from em_abm.viz.offline import ENV

    for key in ENV:
        monkeypatch.setenv(key, os.environ.get(key, ""))
    for obj, name in [(server.telemetry, "mixpanel_enable"), (server.telemetry, "mixpanel_token"),
                      (server.telemetry, "server_user_id"),
                      (server.telemetry, "server_fingerprint"), (base.assets, "proxy"),
                      (base.assets, "cdn")]:  # fmt: skip
        monkeypatch.setattr(obj, name, getattr(obj, name))
    return server, base


def test_app_py_turns_telemetry_and_the_cdn_off_when_solara_run_serves_it(
    monkeypatch, solara_settings
):
    """`solara run em_abm/viz/app.py` imports Solara before the app: the app sets Solara's
    settings itself, before the server starts (and sends its telemetry)."""
    import requests
    import solara.server.cdn_helper as cdn
    import solara.server.telemetry as telemetry

    server, base = solara_settings
    server.telemetry.mixpanel_enable, base.assets.proxy = True, False  # Solara's defaults
    base.assets.cdn = "https://cdn.jsdelivr.net/npm/"
    runpy.run_path(str(APP), run_name="dashboard_app")  # as `solara run` does
    assert server.telemetry.mixpanel_enable is False and base.assets.proxy is True
    assert os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"
    # Telemetry sends nothing; a file missing from the local copy is not fetched.
    sent = []
    monkeypatch.setattr(telemetry.requests, "post", lambda *a, **k: sent.append(a))
    telemetry.track("test")
    assert sent == []
    with pytest.raises(requests.exceptions.InvalidSchema):  # raised before any socket
        requests.get(cdn.get_cdn_url("katex@0.16.9/dist/katex.min.js"), timeout=1)


CASES = [  # (control, value, what the line says is allowed)
    ("scenario_name", "/etc/passwd", "allowed: baseline_2026, "),
    ("scenario_name", "baseline_2026.toml", "allowed: baseline_2026, "),
    ("scenario_name", None, "allowed: baseline_2026, "),
    ("visit_queue", "../../etc/passwd", "allowed: fcfs, "),
    ("alert_triage", ["review_all_fcfs"], "allowed: "),
    ("response_queue", "x" * 10_000, "allowed: fcfs, "),
    ("scale", 5.0, "allowed: a number from 0.02 to 1"),
    ("scale", float("nan"), "allowed: a number from 0.02 to 1"),
    ("scale", "0.5", "allowed: a number from 0.02 to 1"),
    ("seed", 10**12, "allowed: a whole number from 1 to 100"),
    ("seed", 2.5, "allowed: a whole number from 1 to 100"),
    ("seed", True, "allowed: a whole number from 1 to 100"),
    ("field_capacity", -1.0, "allowed: a number from 0.2 to 2"),
    ("police_capacity", float("inf"), "allowed: a number from 0.2 to 2"),
    ("automated_scheduling", "yes", "allowed: true or false"),
    ("contingency", 1, "allowed: true or false"),
    ("tag_share", 1.5, "allowed: a number from 0 to 1"),
    ("tag_at_court_share", -0.1, "allowed: a number from 0 to 1"),
]


@pytest.mark.parametrize("name, value, allowed", CASES)
def test_a_value_no_widget_offers_is_refused_in_one_line(name, value, allowed):
    from em_abm.errors import UserError
    from em_abm.viz.dashboard import DashboardModel, check_controls

    with pytest.raises(UserError) as e:
        check_controls({name: value}, DashboardModel.controls)
    line = str(e.value)
    label = DashboardModel.controls[name]["label"]
    assert line.startswith(f"{label}: got ") and allowed in line
    assert "\n" not in line and len(line) < 300


def test_every_value_a_widget_offers_is_accepted():
    from em_abm.viz.dashboard import DashboardModel, check_controls

    controls = DashboardModel.offering("/some/where/mine.toml").controls
    assert "/some/where/mine.toml" in controls["scenario_name"]["values"]
    for name, spec in controls.items():
        if spec["type"] == "Select":
            offered = spec["values"]
        elif spec["type"] == "Checkbox":
            offered = [True, False]
        else:
            offered = [spec["min"], spec["value"], spec["max"]]
        for value in offered:
            check_controls({name: value}, controls)


@pytest.mark.parametrize(
    "change, line",
    [
        ({"days_per_frame": 10**9}, "days per frame: got 1000000000; allowed: a whole number"),
        ({"replicates": 50}, "seeds (replicate runs, for bands): got 50; allowed: a whole"),
        ({"compare": "yes"}, "compare with a second policy (B): got 'yes'; allowed: true or"),
        ({"A": {"scale": 1.0}}, "policy A: got other controls; allowed: "),
        ({"B": "baseline_2026"}, "policy B: got other controls; allowed: "),
        ({"extra": 1}, "settings: got ['extra']; allowed: the page's controls"),
    ],
)
def test_the_page_settings_are_checked_before_anything_is_built(change, line):
    """What Reset builds (every arm's controls, the seeds, the comparison, the frame size):
    refused in one line before any model is made."""
    from em_abm.errors import UserError
    from em_abm.viz.dashboard import DashboardModel, Runs, default_settings

    settings = {**default_settings(DashboardModel), **change}
    with pytest.raises(UserError) as e:
        Runs(settings, DashboardModel)
    assert str(e.value).startswith(line) and "\n" not in str(e.value)


def test_a_step_past_the_horizon_is_refused():
    """So a run of steps (a render interval sent over the websocket has no bound either)
    stops at the end of the run, not past it."""
    from em_abm.errors import UserError
    from em_abm.viz.dashboard import DashboardModel

    m = DashboardModel(scale=0.02, years=0.02)
    while m.running:
        m.step()
    with pytest.raises(UserError, match=r"^step: the run ended at its horizon"):
        m.step()
    assert m.day == m.n_days - 1


def test_an_unoffered_scenario_is_refused_before_any_file_is_read(monkeypatch, tmp_path):
    """The same line for a scenario file that would load, one that does not exist and
    /etc/passwd: the answer tells nothing about the file system, which is never reached."""
    import em_abm.model
    from em_abm import scenario as sc
    from em_abm.errors import UserError
    from em_abm.viz.dashboard import DashboardModel

    mine = tmp_path / "elsewhere.toml"
    mine.write_text(ELSEWHERE)
    assert sc.load(str(mine)).name == "elsewhere"

    def never(*args, **kwargs):
        raise AssertionError("the scenario was looked up")

    monkeypatch.setattr(em_abm.model, "load", never)
    monkeypatch.setattr(sc, "_locate", never)
    lines = []
    for path in [str(mine), str(tmp_path / "missing.toml"), "/etc/passwd"]:
        with pytest.raises(UserError) as e:
            DashboardModel(scenario_name=path)
        lines.append(_unshown(str(e.value)))
    assert len(set(lines)) == 1 and lines[0].startswith("scenario: got VALUE; allowed: ")


def test_the_page_refuses_a_value_sent_for_a_control_in_one_line(
    monkeypatch, tmp_path, solara_settings
):
    """The page as Solara serves it (the app's Layout around its Page), in-process: a widget
    value set as a websocket message sets it, then Reset. The line replaces the page, and
    "Back to the dashboard" brings it back, the refused value dropped."""
    import ipyvuetify as v
    import solara

    import em_abm.model

    mine = tmp_path / "elsewhere.toml"
    mine.write_text(ELSEWHERE)
    loaded = []
    load = em_abm.model.load
    monkeypatch.setattr(em_abm.model, "load", lambda s, *a, **k: loaded.append(s) or load(s))
    app = runpy.run_path(str(APP), run_name="dashboard_app")
    _, rc = solara.render(app["Layout"](children=[app["Page"]()]), handle_error=False)
    try:
        for label, value, line in [
            ("scenario", str(mine), "scenario: got VALUE; allowed: baseline_2026, "),
            ("seed", 1000, "seed: got VALUE; allowed: a whole number from 1 to 100"),
            ("days per frame", 10**6, "days per frame: got VALUE; allowed: a whole number from"),
        ]:
            widget_type = v.Select if label == "scenario" else v.Slider
            before = rc.find(widget_type, label=label).widget.v_model
            rc.find(widget_type, label=label).widget.v_model = value
            rc.find(v.Btn, children=["Reset"]).widget.click()
            alerts = rc.find(v.Alert).widgets
            assert len(alerts) == 1 and _unshown(alerts[0].children[0]).startswith(line)
            assert "\n" not in alerts[0].children[0] and not rc.find(v.Html, tag="pre").widgets
            rc.find(v.Btn, children=["Back to the dashboard"]).widget.click()
            rc.find(v.Alert, type="error").assert_empty()
            rc.find(v.Select, label="scenario").assert_single()
            assert rc.find(widget_type, label=label).widget.v_model == before
        # The runs are built in a thread: wait for it to have loaded a scenario, so that the
        # check below is about what it loaded, not passed before it ran.
        deadline = time.monotonic() + 120
        while not loaded and time.monotonic() < deadline:
            time.sleep(0.05)
        assert loaded, "the dashboard never built its runs"
        assert str(mine) not in loaded and set(loaded) <= {"baseline_2026"}
    finally:
        rc.close()


# ------------------------------------------------------------------------- the real server
def _namespace() -> list[str]:
    """The command prefix that runs a command in a fresh network namespace with only
    loopback up, or [] where that cannot be made (not root, no `unshare` or `ip`)."""
    prefix = ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return []
    ok = subprocess.run([*prefix, "true"], capture_output=True).returncode == 0
    return prefix if ok else []


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> dict:
    """What happened while `em-abm dashboard` started and a browser used its page (the
    report of :func:`_session`, run as this file's script in a fresh network namespace)."""
    work = tmp_path_factory.mktemp("served")
    prefix = _namespace()
    run = subprocess.run(
        [*prefix, sys.executable, __file__, str(work)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.splitlines()[-1])
    report["namespace"] = bool(prefix)
    if not prefix:
        print("no network namespace (needs root, unshare and ip): checked by the hooks alone")
    return report


def test_no_connection_leaves_this_machine(served):
    """Start-up and a page load: no lookup of a name other than localhost, no connection to an
    address outside loopback, from any Python process of the server (see SITE below); in the
    namespace, where only loopback exists, nothing could have left anyway."""
    assert served["status"] == 200
    assert served["offsite"] == [], served["offsite"]
    assert served["env"]["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "false"


@needs_chromium
def test_the_page_asks_only_its_server_and_nothing_fails(served):
    origin = served["origin"]
    requests = served["requests"]
    assert len(requests) > 5 and not [u for u in requests if not u.startswith((origin, "blob:"))]
    assert not [u for u in requests if "katex" in u or "mermaid" in u or "jsdelivr" in u]
    assert served["failed"] == [] and served["console_errors"] == []
    assert served["page_errors"] == []


@needs_chromium
def test_values_sent_over_the_websocket_are_refused_in_one_line(served):
    """Each value was sent as the page's own websocket message (the widget's v_model), then
    Reset: each gets its line, the same for every unoffered path; the file is never read."""
    refused = served["refused"]
    lines = {value: _unshown(text) for (_, value), text in refused}
    paths = [lines[p] for p in served["paths"]]
    assert len(set(paths)) == 1 and paths[0].startswith("scenario: got VALUE; allowed: ")
    assert lines[1000] == "seed: got VALUE; allowed: a whole number from 1 to 100"
    assert (
        lines[50.5]
        == "field officers' capacity (x plan): got VALUE; allowed: a number from 0.2 to 2"
    )
    assert lines["../../x"].startswith("field visits: order: got VALUE; allowed: fcfs, ")
    assert served["opened"] == [] and served["tracebacks"] == 0
    assert served["back"]  # after each, "Back to the dashboard" brought the page back


# ------------------------------------------------- the script: run in the network namespace
# Loaded by every Python process of the server (PYTHONPATH): logs a name looked up other than
# localhost, a connection outside loopback, and a file opened under ELSEWHERE_DIR.
SITE = r"""
import ipaddress, os, socket, sys

LOG, WATCHED = os.environ["NETWORK_LOG"], os.environ["ELSEWHERE_DIR"]


def _log(*what):
    with open(LOG, "a") as f:
        f.write(f"{os.getpid()} {' '.join(map(str, what))}\n")


def _offsite(host):
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host in ("", "None", "localhost"):
        return False
    try:
        return not ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return True  # a name to look up


def _watch(connect):
    def watched(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and _offsite(address[0]):
            _log("connect", address)
        return connect(self, address)

    return watched


def _lookup(host, *args, **kwargs):
    if _offsite(host):
        _log("lookup", host)
    return _getaddrinfo(host, *args, **kwargs)


def _audit(event, args):
    if event == "open" and str(args[0]).startswith(WATCHED):
        _log("opened", args[0])


socket.socket.connect = _watch(socket.socket.connect)
socket.socket.connect_ex = _watch(socket.socket.connect_ex)
_getaddrinfo, socket.getaddrinfo = socket.getaddrinfo, _lookup
sys.addaudithook(_audit)
"""

# Sends a widget's value as the page's websocket message does, straight down the widget's comm
# (the raw "update" message, as a hostile client would: the browser's copy keeps its value and
# no buffering in the page's widget manager lets the click overtake it), then presses Reset in
# the same turn.
SEND = """async ([label, value]) => {
  const view = await window.requestWidget('solara-main');
  const models = await Promise.all(Object.values(view.model.widget_manager._models));
  const hits = models.filter(m => m.get('label') === label && m.get('v_model') !== undefined);
  if (hits.length !== 1) return `${hits.length} widgets labelled ${label}`;
  hits[0].comm.send({method: 'update', state: {v_model: value}, buffer_paths: []});
  [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Reset').click();
  return 'sent';
}"""


def _session(work: Path) -> dict:
    """Start `em-abm dashboard` with :data:`SITE`, load its page (in Chromium when there is
    one: play a step, then send unoffered values), stop it and report what happened."""
    (work / "site").mkdir()
    (work / "site" / "sitecustomize.py").write_text(SITE)
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "mine.toml").write_text(ELSEWHERE)
    log = work / "network.log"
    log.touch()
    port = _free_port()
    origin = f"http://localhost:{port}/"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLARA_")}  # its own only
    env.update(PYTHONPATH=str(work / "site"), NETWORK_LOG=str(log), ELSEWHERE_DIR=str(elsewhere))
    env["VSCODE_PID"] = "1"  # where Solara would have the browser fetch the page from its CDN
    with (work / "server.log").open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "em_abm", "dashboard", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # so that stopping it stops Solara, its child, too
        )  # fmt: skip
    report: dict = {"origin": origin, "status": None}
    try:
        deadline = time.monotonic() + 120
        while report["status"] is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(origin, timeout=5) as r:
                    report["status"] = r.status
            except OSError:
                time.sleep(0.5)
        solara = psutil.Process(server.pid).children()[0]  # `em-abm dashboard` runs Solara
        report["env"] = {k: v for k, v in solara.environ().items() if k.startswith("SOLARA_")}
        if CHROMIUM:
            report.update(_browse(origin, elsewhere))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    lines = log.read_text().splitlines()
    report["offsite"] = [line for line in lines if " opened " not in line]
    report["opened"] = [line for line in lines if " opened " in line]
    return report


def _browse(origin: str, elsewhere: Path) -> dict:
    from playwright.sync_api import expect, sync_playwright

    seen: dict = {"requests": [], "failed": [], "console_errors": [], "page_errors": []}
    paths = [str(elsewhere / "mine.toml"), str(elsewhere / "missing.toml"), "/etc/passwd"]
    sends = [("scenario", p) for p in paths] + [
        ("seed", 1000),
        ("field officers' capacity (x plan)", 50.5),
        ("field visits: order", "../../x"),
    ]
    seen.update(paths=paths, refused=[], back=True, tracebacks=0)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.on("request", lambda r: seen["requests"].append(r.url))
        page.on("requestfailed", lambda r: seen["failed"].append(f"{r.url} {r.failure}"))
        page.on(
            "response", lambda r: r.status >= 400 and seen["failed"].append(f"{r.status} {r.url}")
        )
        page.on("console", lambda m: m.type == "error" and seen["console_errors"].append(m.text))
        page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
        page.goto(origin, timeout=90_000)
        expect(page.get_by_text("Press ▶ Play or Step")).to_be_visible(timeout=90_000)
        page.get_by_role("button", name="Step (14 days)").click()
        expect(page.get_by_text("day 14 of")).to_be_visible(timeout=60_000)
        for label, value in sends:
            page.get_by_text(label, exact=True).first.wait_for(timeout=30_000)
            for _ in range(20):  # until the page's widget manager holds the control's model
                sent = page.evaluate(SEND, [label, value])
                if sent == "sent":
                    break
                page.wait_for_timeout(250)
            alert = page.locator(".v-alert.error--text")
            try:
                expect(alert).to_be_visible(timeout=30_000)
            except AssertionError:  # not refused: what the page shows instead
                seen["refused"].append(((label, value), f"{sent}: {page.inner_text('body')}"))
                continue
            seen["refused"].append(((label, value), alert.inner_text().strip()))
            seen["tracebacks"] += page.inner_text("body").count("Traceback")
            page.get_by_role("button", name="Back to the dashboard").click()
            try:
                expect(page.get_by_text("day 14 of")).to_be_visible(timeout=60_000)
            except AssertionError:
                seen["back"] = False
        browser.close()
    return seen


if __name__ == "__main__":
    print(json.dumps(_session(Path(sys.argv[1]))))
