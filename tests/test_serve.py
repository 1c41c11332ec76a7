"""``panelsel serve`` driven in a real headless Chromium (Debian's ``chromium`` with
``chromium-driver``, through selenium): what the page shows at each step, and that the
folder it writes passes ``panelsel audit``.  Without a browser these tests skip, except in
CI (``PANELSEL_REQUIRE_BROWSER=1``), where they must run."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelsel.api import audit
from panelsel.cli import app
from panelsel.errors import BadInputError
from panelsel.inputs.load import ReadOptions, read_pool
from panelsel.web.server import serve

from .conftest import EXAMPLE, child_dispositions
from .test_report import BROWSER_FLAGS
from .test_time_limits import leximin_times_out

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FORMS = Path(__file__).parent / "corpus" / "forms"
WAIT = 60.0

needs_browser = pytest.mark.skipif(
    (CHROMIUM is None or DRIVER is None) and not os.environ.get("PANELSEL_REQUIRE_BROWSER"),
    reason="headless Chromium and chromedriver are not installed (Debian: chromium, "
    "chromium-driver)",
)


@contextlib.contextmanager
def _serving(root: Path) -> Iterator[str]:
    """The app keeping its workspaces under ``root``, on a free loopback port in a thread
    of this process, until the block ends; yields its address."""
    import uvicorn

    from panelsel.web.app import make_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(make_app(root), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One server for the module's tests (each test works in its own workspace)."""
    root = tmp_path_factory.mktemp("serve") / "ws"
    with _serving(root) as url:
        yield url, root


def _driver(width: int = 1280, height: int = 800) -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    # the report test's flags (no background connections: this machine's network is closed),
    # with the new headless mode that selenium drives
    flags = [f for f in BROWSER_FLAGS if f != "--headless"]
    for flag in ("--headless=new", *flags, f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(DRIVER or "/usr/bin/chromedriver"), options=options)


@pytest.fixture()
def browser() -> Iterator[object]:
    driver = _driver()
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: object, css: str, text: str | None = None) -> str:
    """The text of the first element matching ``css`` (whose text contains ``text``), within
    WAIT (read at once: the live verdict may replace the element right after)."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            for element in found:
                shown = str(element.text)
                if text is None or text in shown:
                    return shown
        except StaleElementReferenceException:
            pass  # the live verdict replaced it while it was read: look again
        time.sleep(0.1)
    shown = driver.find_element(By.TAG_NAME, "body").text[:2000]
    raise AssertionError(f"no {css!r} showing {text!r} within {WAIT} s; the page shows:\n{shown}")


def _wait_until(driver: object, condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds (the page's script acts after the verdict)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not so after {WAIT} s")
        time.sleep(0.1)


def _open_details(driver: object, css: str) -> None:
    """Open a ``<details>`` (a page restored by Back may have kept it open)."""
    from selenium.webdriver.common.by import By

    details = driver.find_element(By.CSS_SELECTOR, css)  # type: ignore[attr-defined]
    if details.get_attribute("open") is None:
        details.find_element(By.TAG_NAME, "summary").click()


def _load(driver: object, url: str, path: Path, delimiter: str | None = None) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(url + "/")
    driver.find_element(By.ID, "registrants").send_keys(str(path))
    if delimiter is not None:
        driver.find_element(By.TAG_NAME, "summary").click()
        Select(driver.find_element(By.ID, "delimiter")).select_by_value(delimiter)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def _set(driver: object, field_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    element = driver.find_element(By.ID, field_id)
    element.send_keys(Keys.CONTROL, "a")
    element.send_keys(str(value) if value else Keys.DELETE)


def _submit(driver: object, by: str, value: str) -> None:
    """Click a button that loads a new page, and wait until the old page is gone and the new
    one has loaded (so that what is waited for next is the new page's, not the old one's).

    The old page is marked with a window property, which a new document does not have.
    Asking an element of the old page whether it is stale races the navigation: chromedriver
    then sometimes answers with a bare "node does not belong to the document" error, which
    selenium's ``staleness_of`` does not count as stale (CI failed on it once)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.panelselOldPage = true;")  # type: ignore[attr-defined]
    driver.find_element(by, value).click()  # type: ignore[attr-defined]

    def loaded(driver: object) -> bool:
        return bool(
            driver.execute_script(  # type: ignore[attr-defined]
                "return window.panelselOldPage === undefined && document.readyState === 'complete';"
            )
        )

    WebDriverWait(driver, WAIT, ignored_exceptions=(WebDriverException,)).until(loaded)


def _example_quotas(driver: object, url: str, tmp_path: Path) -> str:
    """Load a copy of the example in a new workspace and open its quota page (init's
    proposal, which can be met); returns the workspace's token."""
    registrants = tmp_path / "registrants.csv"
    shutil.copy(EXAMPLE / "registrants.csv", registrants)
    _load(driver, url, registrants)
    _wait(driver, "h1", "registrants")
    token = str(driver.current_url).split("/w/")[1].split("/")[0]  # type: ignore[attr-defined]
    driver.get(f"{url}/w/{token}/quotas")  # type: ignore[attr-defined]
    _wait(driver, "#feasible")
    return token


def _wellbeing_quotas(driver: object) -> None:
    """The example's quota file, typed into the form."""
    _set(driver, "panel_size", "10")
    for key, lo, hi in [
        ("Gender=Female", 5, 5),
        ("Gender=Male", 5, 5),
        ("Level of study=Postgraduate", 6, 6),
        ("Level of study=Undergraduate", 4, 4),
        ("Services accessed=Counselling", 3, 10),
        ("Services accessed=Wellbeing workshops", 3, 10),
        ("Services accessed=Mental health advice", 3, 10),
        ("Services accessed=Disability support", 3, 10),
    ]:
        _set(driver, f"min:{key}", str(lo))
        _set(driver, f"max:{key}", str(hi))


@needs_browser
def test_load_quotas_infeasible_fixed_select_download_audit(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, root = server
    registrants = tmp_path / "registrants.csv"
    shutil.copy(EXAMPLE / "registrants.csv", registrants)
    _load(browser, url, registrants)
    assert _wait(browser, "h1", "registrants") == "45 registrants"
    header = browser.find_element(By.CSS_SELECTOR, "#preview thead").text
    assert "student_id (id)" in header and "Gender" in header
    assert "Email" not in header  # personal data is not shown as a quota column
    browser.find_element(By.LINK_TEXT, "Set the quotas").click()
    _wait(browser, "#feasible", "can be met")
    _wellbeing_quotas(browser)
    # the live verdict, as the convenor types: a minimum no panel can meet
    _set(browser, "min:Services accessed=Disability support", "9")
    verdict = _wait(browser, "#infeasible", "No panel meets these quotas")
    assert "Smallest change that admits a panel" in verdict
    assert "Disability support" in verdict
    # selecting waits until the quotas can be met
    _wait_until(browser, lambda: not browser.find_element(By.ID, "select").is_enabled())
    assert not browser.find_element(By.ID, "compare").is_enabled()
    assert browser.find_element(By.ID, "select-blocked").is_displayed()
    # the same without the script: the Check button
    _submit(browser, By.CSS_SELECTOR, "button[value=check]")
    shown = _wait(browser, "#infeasible", "Smallest change")
    assert not browser.find_element(By.ID, "select").is_enabled()
    # the smallest change, taken into the form with one button
    change = re.search(r"Services accessed = Disability support: min 9 → (\d+)", shown)
    assert change is not None, shown
    _submit(browser, By.ID, "apply-fix")
    _wait(browser, "#feasible", "10 seats from 45 registrants")
    field = browser.find_element(By.ID, "min:Services accessed=Disability support")
    assert field.get_attribute("value") == change[1]
    _set(browser, "min:Services accessed=Disability support", "3")
    _wait(browser, "#feasible", "10 seats from 45 registrants")
    _wait_until(browser, lambda: browser.find_element(By.ID, "select").is_enabled())
    # the seats each group can get on a valid panel, within its quota
    browser.find_element(By.CSS_SELECTOR, "#ranges summary").click()
    ranges = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#ranges tbody tr")]
    assert len(ranges) == 8
    for row in ranges:
        low, high, lowest, highest = map(
            int, re.findall(r"(\d+) to (\d+)", row)[0] + re.findall(r"(\d+) to (\d+)", row)[1]
        )
        assert low <= lowest <= highest <= high, row
    assert not browser.find_element(By.ID, "select-blocked").is_displayed()
    _set(browser, "seed", "12345")
    _submit(browser, By.ID, "select")
    assert _wait(browser, "h1", "The panel") == "The panel: 10 seats"
    summary = browser.find_element(By.ID, "summary").text
    assert "leximin" in summary and "seed 12345" in summary
    members = browser.find_element(By.ID, "members").text.split(", ")
    assert len(members) == 10
    rows = browser.find_elements(By.CSS_SELECTOR, "#panel-against-quotas tbody tr:not(.category)")
    assert len(rows) == 8 and all("✓" in r.text and "✗" not in r.text for r in rows)
    groups = browser.find_elements(By.CSS_SELECTOR, "#panel-against-quotas tr.category")
    assert [g.text for g in groups] == ["Gender", "Level of study", "Services accessed"]
    # the folder is the CLI's: its files download as written, and it passes the audit
    folder = next(root.glob("*/results-1"))
    link = browser.find_element(By.LINK_TEXT, "panel.csv").get_attribute("href")
    with urllib.request.urlopen(link) as response:
        assert response.read() == (folder / "panel.csv").read_bytes()
    listed = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#files a")]
    assert listed[:-1] == sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
    zipped = browser.find_element(By.PARTIAL_LINK_TEXT, "all of them").get_attribute("href")
    with urllib.request.urlopen(zipped) as response:
        names = zipfile.ZipFile(io.BytesIO(response.read())).namelist()
    assert sorted(names) == sorted(
        f"results-1/{p.name}" for p in folder.iterdir() if not p.name.startswith(".")
    )
    panel_ids = [
        line.split(",")[0]
        for line in (folder / "panel.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    ]
    assert panel_ids == members
    _submit(browser, By.ID, "run-audit")
    assert "Audit passed" in _wait(browser, "#audit-verdict")
    quotas = folder.parent / "quotas-1.yaml"  # the run's own copy of the form's quotas
    assert audit(folder, folder.parent / "registrants.csv", quotas).verified
    cli = CliRunner().invoke(
        app, ["audit", str(folder), str(folder.parent / "registrants.csv"), str(quotas)]
    )
    assert cli.exit_code == 0, cli.output
    assert "Audit passed" in cli.output
    # a member drops out: the round fills the seat from the people still available
    leaving = members[3]
    browser.find_element(By.ID, f"dropout-{leaving}").click()
    _set(browser, "round-seed", "7")
    _submit(browser, By.ID, "replace-button")
    # the example's quotas are exact: the seat left needs someone no one available is (the
    # CLI's exit-3 message, with the loosening that would fill it)
    refused = _wait(browser, "#error", "cannot be filled within the quotas")
    assert "the smallest loosening that fills them" in refused
    # the CLI's fix, in the page's words
    assert "tick “loosen the quotas” (in the dropout form)" in refused and "--" not in refused
    browser.back()
    _wait(browser, "#replace-button")
    browser.find_element(By.ID, f"dropout-{leaving}").click() if not browser.find_element(
        By.ID, f"dropout-{leaving}"
    ).is_selected() else None
    _set(browser, "round-seed", "7")
    browser.find_element(By.ID, "loosen").click()
    _submit(browser, By.ID, "replace-button")
    assert _wait(browser, "h1", "Replacement round") == "Replacement round: 1 seat(s) filled"
    assert "loosened the quotas" in browser.find_element(By.TAG_NAME, "main").text
    new = browser.find_element(By.ID, "replacements").text.split(", ")
    final = browser.find_element(By.ID, "members").text.split(", ")
    assert len(new) == 1 and new[0] not in members and leaving not in final
    assert sorted(final) == sorted([m for m in members if m != leaving] + new)
    _submit(browser, By.ID, "run-audit")
    assert "Audit passed" in _wait(browser, "#audit-verdict")
    # the refused attempt was run 2 and wrote nothing; the loosened round is run 3
    assert not list(root.glob("*/results-2"))
    round_folder = next(root.glob("*/results-3"))
    cli = CliRunner().invoke(
        app, ["audit", str(round_folder), str(folder.parent / "registrants.csv"), str(quotas)]
    )
    assert cli.exit_code == 0 and "Audit passed" in cli.output, cli.output


@needs_browser
def test_a_workbook_and_a_semicolon_export_load(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    import csv

    import openpyxl

    url, _ = server
    book = openpyxl.Workbook()
    sheet = book.active
    with (EXAMPLE / "registrants.csv").open(encoding="utf-8-sig") as f:
        for row in csv.reader(f):
            sheet.append(row)  # type: ignore[union-attr]
    path = tmp_path / "pool.xlsx"
    book.save(path)
    _load(browser, url, path)
    assert _wait(browser, "h1", "registrants") == "45 registrants"
    # a Microsoft Forms export separated by ';': the CLI's message, at the separator field
    forms = tmp_path / "registrations.csv"
    shutil.copy(FORMS / "registrations.csv", forms)
    _load(browser, url, forms)
    error = _wait(browser, "#error", "separated by")
    with pytest.raises(BadInputError) as expected:
        read_pool(forms, None, ReadOptions())
    shown = expected.value.message.replace(f"{tmp_path}/", "")  # the file by its own name
    assert error.startswith(f"Bad input: {shown}")
    # the CLI's fix ("pass --delimiter ';'"), naming the page's field
    assert (
        "fix: set “Separator of a CSV file” (on the first page, under How to read it) to ';'"
        in error
    )
    from selenium.webdriver.common.by import By

    assert browser.find_element(By.ID, "delimiter").get_attribute("aria-invalid") == "true"
    _load(browser, url, forms, delimiter=";")
    assert re.fullmatch(r"\d+ registrants", _wait(browser, "h1", "registrants"))


@needs_browser
def test_an_upload_that_is_not_a_registrants_file_gets_the_cli_message(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    url, root = server
    before, spaces = set(root.glob("*/*")), set(root.iterdir())
    png = tmp_path / "photo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    _load(browser, url, png)
    error = _wait(browser, "#error", "Bad input")
    with pytest.raises(BadInputError) as expected:
        read_pool(png, None, ReadOptions())
    shown = expected.value.message.replace(f"{tmp_path}/", "")
    assert error.startswith(f"Bad input: {shown}")
    assert set(root.glob("*/*")) == before, "a refused upload was kept"
    assert set(root.iterdir()) == spaces, "a refused upload left a workspace"


@needs_browser
def test_two_tabs_keep_their_own_runs(server: tuple[str, Path], tmp_path: Path) -> None:
    url, root = server
    first, second = _driver(), _driver()
    try:
        a = tmp_path / "a.csv"
        shutil.copy(EXAMPLE / "registrants.csv", a)
        b = tmp_path / "b.csv"
        text = (EXAMPLE / "registrants.csv").read_text(encoding="utf-8-sig").splitlines()
        b.write_text("\n".join(text[:31]) + "\n", encoding="utf-8")  # 30 registrants
        _load(first, url, a)
        _load(second, url, b)
        assert _wait(first, "h1", "registrants") == "45 registrants"
        assert _wait(second, "h1", "registrants") == "30 registrants"
        for driver in (first, second):
            driver.get(driver.current_url + "quotas")
            _wait(driver, "#verdict")
            _set(driver, "seed", "3")
        from selenium.webdriver.common.by import By

        _submit(first, By.ID, "select")
        _submit(second, By.ID, "select")
        one = _wait(first, "#members").split(", ")
        two = _wait(second, "#members").split(", ")
        assert first.current_url.split("/w/")[1][:8] != second.current_url.split("/w/")[1][:8]
    finally:
        first.quit()
        second.quit()
    folders = {p.parent.name: p for p in root.glob("*/results-1")}
    sizes = sorted(
        len((p / "probabilities.csv").read_text(encoding="utf-8").splitlines()) - 1
        for p in folders.values()
    )
    assert 30 in sizes and 45 in sizes
    for folder in folders.values():
        registrants = next(p for p in folder.parent.iterdir() if p.suffix == ".csv")
        assert audit(folder, registrants, folder.parent / "quotas-1.yaml", recompute=False).passed
    # each tab's panel is its own pool's: a tenth of 45 and of 30 seats (init's proposal)
    assert (len(one), len(two)) == (4, 3)
    first_thirty = [line.split(",")[0] for line in text[1:31]]
    assert set(two) <= set(first_thirty)


@needs_browser
def test_pages_fit_a_phone_and_fetch_nothing_from_elsewhere(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    """Every page at a phone's width: nothing scrolls sideways but a wide table's own box,
    nothing is fetched from elsewhere, every field has a label, every text has a contrast
    of at least 4.5:1 (WCAG AA) on its background, and the keyboard reaches the buttons."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    url, _ = server
    phone = _driver(390, 844)
    try:
        registrants = tmp_path / "registrants.csv"
        shutil.copy(EXAMPLE / "registrants.csv", registrants)
        _check_page(phone, url + "/", "start")
        _load(phone, url, registrants)
        _wait(phone, "#preview")
        base = phone.current_url
        _check_page(phone, base, "pool")
        _check_page(phone, base + "quotas", "quotas")
        assert phone.find_element(By.ID, "quota-form")
        # the keyboard alone reaches the Select button, past every field before it
        phone.find_element(By.ID, "panel_size").click()
        for _ in range(200):
            if phone.switch_to.active_element.get_attribute("id") == "select":
                break
            phone.switch_to.active_element.send_keys(Keys.TAB)
        else:
            raise AssertionError("Tab never reached the Select button")
        _set(phone, "seed", "3")
        _submit(phone, By.ID, "select")
        _wait(phone, "h1", "The panel")
        _check_page(phone, phone.current_url, "result")
        _submit(phone, By.ID, "run-audit")
        _wait(phone, "#audit-verdict")
        _check_page(phone, phone.current_url, "audited result")
        phone.find_elements(By.CSS_SELECTOR, "input[name=dropout]")[0].click()
        phone.find_element(By.ID, "loosen").click()
        _submit(phone, By.ID, "replace-button")
        _wait(phone, "h1", "Replacement round")
        _check_page(phone, phone.current_url, "round")  # its notes hold a sha256
        _check_page(phone, url + "/audit", "audit")
        phone.get(base + "quotas")
        _set(phone, "seed", "3")
        _set(phone, "panels", "20")
        _submit(phone, By.ID, "select")
        _wait(phone, "h1", "Published")
        _check_page(phone, phone.current_url, "published")  # its sha256 wraps
        _set(phone, "number", "2")
        _submit(phone, By.ID, "draw-button")
        assert _wait(phone, "h1", "Drawn") == "Drawn in public: panel 2 of 20"
        _check_page(phone, phone.current_url, "drawn")
        phone.get(base + "quotas")
        _submit(phone, By.ID, "compare")
        _wait(phone, "h1", "compared")
        _check_page(phone, phone.current_url, "comparison")
    finally:
        phone.quit()
    with urllib.request.urlopen(url + "/") as response:
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy


_LOW_CONTRAST = """
function rgb(text) { return text.match(/[\\d.]+/g).map(Number); }
function lum(c) {
  var v = c.slice(0, 3).map(function (x) { x /= 255;
    return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function background(e) {
  for (; e; e = e.parentElement) {
    var c = rgb(getComputedStyle(e).backgroundColor);
    if (c.length < 4 || c[3] > 0) { return c; }
  }
  return [255, 255, 255];
}
var low = [];
document.querySelectorAll('body *').forEach(function (e) {
  var own = Array.from(e.childNodes).some(function (n) {
    return n.nodeType === 3 && n.textContent.trim(); });
  if (!own || !e.getClientRects().length) { return; }
  var a = lum(rgb(getComputedStyle(e).color)), b = lum(background(e));
  var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) {
    low.push(e.tagName + ' ' + e.textContent.trim().slice(0, 40) + ' ' + ratio.toFixed(2));
  }
});
return low;
"""


def _check_page(driver: object, address: str, name: str) -> None:
    """The checks of the phone test on one page."""
    driver.get(address)  # type: ignore[attr-defined]
    _wait(driver, "h1")
    overflow = driver.execute_script(  # type: ignore[attr-defined]
        "return document.documentElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"the {name} page scrolls sideways by {overflow}px at 390px"
    sources = driver.execute_script(  # type: ignore[attr-defined]
        "return Array.from(document.querySelectorAll('[src],[href]'))"
        ".map(e => e.getAttribute('src') || e.getAttribute('href'))"
    )
    assert all(not re.match(r"(https?:)?//", s) for s in sources), sources
    labels = driver.execute_script(  # type: ignore[attr-defined]
        "return Array.from(document.querySelectorAll('input:not([type=hidden]),select'))"
        ".filter(e => !(e.labels && e.labels.length)).map(e => e.id)"
    )
    assert labels == [], f"fields without a label on the {name} page: {labels}"
    low = driver.execute_script(_LOW_CONTRAST)  # type: ignore[attr-defined]
    assert low == [], f"text below 4.5:1 contrast on the {name} page: {low}"


def test_serve_refuses_an_address_other_computers_reach(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="other computers") as refused:
        serve(host="0.0.0.0", port=0, folder=tmp_path / "ws", open_browser=False)
    assert "--allow-remote" in (refused.value.hint or "")
    assert not (tmp_path / "ws").exists()
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--no-browser"])
    assert result.exit_code == 2 and "other computers" in result.output
    for port in ("-1", "70000"):
        result = CliRunner().invoke(app, ["serve", "--port", port, "--no-browser"])
        assert result.exit_code == 2 and "--port must be from 0 to 65535" in result.output


def test_a_request_naming_another_host_is_refused(server: tuple[str, Path]) -> None:
    url, _ = server
    request = urllib.request.Request(url + "/", headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400


@needs_browser
def test_publish_then_draw_in_public_and_compare(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    from panelsel.digest import sha256_of

    url, root = server
    _example_quotas(browser, url, tmp_path)
    _wellbeing_quotas(browser)
    _wait(browser, "#feasible", "10 seats")
    _set(browser, "seed", "5")
    _set(browser, "panels", "40")
    _submit(browser, By.ID, "select")
    assert _wait(browser, "h1", "Published") == "Published: 40 numbered panels"
    digest = browser.find_element(By.ID, "sha256").text
    token = browser.current_url.split("/w/")[1].split("/")[0]
    folder = root / token / "results-1"
    assert digest == sha256_of(folder / "lottery.json")
    assert not (folder / "panel.csv").exists()  # nothing drawn before the public draw
    _set(browser, "number", "41")  # out of range: the CLI's message
    _submit(browser, By.ID, "draw-button")
    assert "“A panel number” (in the draw form) must be between 1 and 40" in _wait(
        browser, "#error", "must be between"
    )
    # the error page keeps the workspace's steps and leads back to it
    assert browser.find_element(By.LINK_TEXT, "Result 1")
    assert (
        browser.find_element(By.LINK_TEXT, "back to the quotas")
        .get_attribute("href")
        .endswith(f"/w/{token}/quotas")
    )
    browser.back()
    _wait(browser, "#draw-button")
    _set(browser, "number", "17")
    _submit(browser, By.ID, "draw-button")
    assert _wait(browser, "#drawn") == "Drawn: panel 17"
    members = browser.find_element(By.ID, "members").text.split(", ")
    import json

    published = json.loads((folder / "lottery.json").read_text(encoding="utf-8"))
    assert members == published["panels"][16]["members"]
    assert (folder / "panel.csv").exists() and (folder / "draw.json").exists()
    _submit(browser, By.ID, "run-audit")
    assert "Audit passed" in _wait(browser, "#audit-verdict")
    # a member of the drawn panel drops out: a round continues the public draw's panel
    leaving = members[0]
    browser.find_element(By.ID, f"dropout-{leaving}").click()
    _set(browser, "round-seed", "3")
    browser.find_element(By.ID, "loosen").click()  # the example's quotas are exact
    _submit(browser, By.ID, "replace-button")
    assert _wait(browser, "h1", "Replacement round") == "Replacement round: 1 seat(s) filled"
    final = browser.find_element(By.ID, "members").text.split(", ")
    assert leaving not in final and len(final) == 10
    assert set(members) - {leaving} < set(final)
    cli = CliRunner().invoke(
        app,
        [
            "audit",
            str(root / token / "results-2"),
            str(root / token / "registrants.csv"),
            str(root / token / "quotas-1.yaml"),
        ],
    )
    assert cli.exit_code == 0 and "Audit passed" in cli.output, cli.output
    # compare, on the same quotas: every algorithm's figures, the folder compare writes
    browser.get(url + f"/w/{token}/quotas")
    _wait(browser, "#compare")
    for name in ("nash", "goldilocks", "minimax", "legacy"):
        browser.find_element(By.ID, f"compare-{name}").click()  # leave leximin, maximin
    _submit(browser, By.ID, "compare")
    assert _wait(browser, "h1", "compared") == "The algorithms compared"
    rows = [
        r.text.split()[0] for r in browser.find_elements(By.CSS_SELECTOR, "#comparison tbody tr")
    ]
    assert rows == ["leximin", "maximin"]
    compared = root / token / "compare-3"
    assert sorted(p.name for p in compared.iterdir() if not p.name.startswith(".")) == [
        "probabilities.csv",
        "report.html",
        "summary.json",
    ]


@needs_browser
def test_the_audit_page_checks_any_folder_and_sees_a_forgery(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    import json

    from selenium.webdriver.common.by import By

    from panelsel.api import SolveOptions, select, write

    url, _ = server
    registrants, quotas = EXAMPLE / "registrants.csv", EXAMPLE / "quotas.yaml"
    write(select(registrants, quotas, solve=SolveOptions(seed=4)), tmp_path / "run")
    browser.get(url + "/audit")
    _submit(browser, By.ID, "audit-button")
    assert "give the path of the selection folder" in _wait(browser, "#error", "give the path")
    assert browser.find_element(By.ID, "audit-folder").get_attribute("aria-invalid") == "true"
    for name, value in (
        ("folder", tmp_path / "run"),
        ("registrants", registrants),
        ("quotas", quotas),
    ):
        _set(browser, f"audit-{name}", str(value))
    _submit(browser, By.ID, "audit-button")
    assert _wait(browser, "#audit-verdict", "Audit") == "Audit passed: all 11 checks"
    # a forged lottery.json: a panel's probability moved to another
    path = tmp_path / "run" / "lottery.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["panels"][0]["probability"] += 0.01
    document["panels"][1]["probability"] -= 0.01
    path.write_text(json.dumps(document), encoding="utf-8")
    _submit(browser, By.ID, "audit-button")
    shown = _wait(browser, "#audit-verdict", "failed")
    # the CLI's verdict line, word for word
    cli = CliRunner().invoke(
        app, ["audit", str(tmp_path / "run"), str(registrants), str(quotas)], terminal_width=400
    )
    assert cli.exit_code == 5
    (verdict,) = [line for line in cli.output.splitlines() if line.startswith("Audit failed:")]
    assert shown == verdict and "marginals" in shown
    failed = [
        row.text.split()[0]
        for row in browser.find_elements(By.CSS_SELECTOR, "#audit-checks tbody tr")
        if " FAIL " in f" {row.text} "
    ]
    assert "marginals" in failed


@needs_browser
def test_the_more_options_are_the_clis_with_its_messages(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    import json

    from selenium.webdriver.common.by import By

    url, root = server
    _example_quotas(browser, url, tmp_path)
    _set(browser, "seed", "abc")
    _submit(browser, By.ID, "select")
    shown = _wait(browser, "#error", "whole number")
    # the field is marked, not named as a data file's column would be
    assert shown.splitlines()[0] == "Bad input: the seed must be a whole number, not 'abc'"
    seed = browser.find_element(By.ID, "seed")
    assert "invalid" in seed.find_element(By.XPATH, "..").get_attribute("class")
    assert seed.get_attribute("value") == "abc"
    _set(browser, "seed", "")
    browser.find_element(By.CSS_SELECTOR, "fieldset details summary").click()
    _set(browser, "gamma", "2")  # with leximin: the CLI's refusal
    _submit(browser, By.ID, "select")
    assert (
        "“Goldilocks' weight of the smallest chance” (on the quota page, under More options) "
        "applies to the "
        "goldilocks algorithm only" in _wait(browser, "#error", "goldilocks algorithm only")
    )
    # what was typed is kept, and the field is marked
    assert browser.find_element(By.ID, "gamma").get_attribute("value") == "2"
    assert "invalid" in browser.find_element(By.ID, "gamma").find_element(
        By.XPATH, ".."
    ).get_attribute("class")
    browser.find_element(By.ID, "algorithm-goldilocks").click()
    browser.find_element(By.ID, "best_effort").click()  # without a time limit: refused
    _submit(browser, By.ID, "select")
    assert (
        "“use the best lottery found so far” (on the quota page, under More options) needs "
        "“Time limit” (on the quota page, under More options)"
        in _wait(browser, "#error", "needs “Time limit”")
    )
    assert browser.find_element(By.ID, "algorithm-goldilocks").is_selected()
    browser.find_element(By.ID, "best_effort").click()  # untick it
    _set(browser, "seed", "9")
    _submit(browser, By.ID, "select")
    assert "goldilocks" in _wait(browser, "#summary", "Drawn with")
    token = browser.current_url.split("/w/")[1].split("/")[0]
    (folder,) = (root / token).glob("results-*")
    document = json.loads((folder / "lottery.json").read_text(encoding="utf-8"))
    assert document["algorithm"] == "goldilocks" and document["seed"] == 9
    assert document["stats"]["gamma"] == 2.0


@needs_browser
def test_quotas_typed_as_percentages_of_the_panel(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, _ = server
    _example_quotas(browser, url, tmp_path)
    _set(browser, "panel_size", "10")
    # the example's quota file, as percentages (a minimum rounds down, a maximum up)
    for key, lo, hi in [
        ("Gender=Female", "50%", "50%"),
        ("Gender=Male", "50%", "50%"),
        ("Level of study=Postgraduate", "60%", "60%"),
        ("Level of study=Undergraduate", "40%", "40%"),
        ("Services accessed=Counselling", "30%", "100%"),
        ("Services accessed=Wellbeing workshops", "30%", "100%"),
        ("Services accessed=Mental health advice", "30%", "100%"),
        ("Services accessed=Disability support", "25%", "100%"),  # 2.5 seats: at least 2
    ]:
        _set(browser, f"min:{key}", lo)
        _set(browser, f"max:{key}", hi)
    _wait(browser, "#feasible", "10 seats from 45 registrants")
    _submit(browser, By.CSS_SELECTOR, "button[value=check]")
    _wait(browser, "#feasible", "10 seats")
    shown = {
        key: browser.find_element(By.ID, key).get_attribute("value")
        for key in (
            "min:Gender=Female",
            "max:Level of study=Postgraduate",
            "min:Services accessed=Disability support",
            "max:Services accessed=Counselling",
        )
    }
    assert shown == {
        "min:Gender=Female": "5",
        "max:Level of study=Postgraduate": "6",
        "min:Services accessed=Disability support": "2",
        "max:Services accessed=Counselling": "10",
    }
    _set(browser, "max:Gender=Male", "150%")
    assert "a percentage over 100" in _wait(browser, "#verdict .error", "percentage")


def test_the_page_names_its_fields_where_the_cli_names_options() -> None:
    import typer.main

    from panelsel.web.words import FIELDS, page_words

    assert page_words("pass --delimiter ';'") == (
        "set “Separator of a CSV file” (on the first page, under How to read it) to ';'"
    )
    assert page_words("raise --time-limit, or simplify the quotas") == (
        "raise “Time limit” (on the quota page, under More options), or simplify the quotas"
    )
    assert page_words("pass --loosen to take that loosening") == (
        "tick “loosen the quotas” (in the dropout form) to take that loosening"
    )
    assert page_words("add --algorithm goldilocks, or drop --gamma") == (
        "set “the algorithm” (on the quota page) to goldilocks, or empty “Goldilocks' weight "
        "of the smallest chance” (on the quota page, under More options)"
    )
    assert page_words("add --time-limit SECONDS, or drop it") == (
        "fill in “Time limit” (on the quota page, under More options), or drop it"
    )
    # an option the page has no field for stays the CLI's
    assert page_words("choose another name with --out") == "choose another name with --out"
    # every option named is one the CLI has (a renamed option fails here)
    command = typer.main.get_command(app)
    options = {
        opt[2:]
        for sub in command.commands.values()  # type: ignore[attr-defined]
        for param in sub.params
        for opt in param.opts
        if opt.startswith("--")
    }
    assert set(FIELDS) <= options, set(FIELDS) - options


@needs_browser
def test_a_run_shows_its_progress_and_survives_the_page_being_closed(
    server: tuple[str, Path], browser: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run page shows the stage the library reports, with its bar; leaving the page
    mid-run changes nothing, and the folder comes whole (the run is held at a known stage
    by an event, not by timing)."""
    from selenium.webdriver.common.by import By

    import panelsel.web.workspace as workspace

    real_select = workspace.select
    reached, release = threading.Event(), threading.Event()

    def held(*args: object, progress: Callable[[str, int, int], None], **kwargs: object) -> object:
        progress("LEXIMIN · level 2, types fixed", 3, 10)
        reached.set()
        assert release.wait(WAIT), "the test never released the run"
        return real_select(*args, progress=progress, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace, "select", held)
    url, root = server
    token = _example_quotas(browser, url, tmp_path)
    _wellbeing_quotas(browser)
    _wait(browser, "#feasible", "10 seats")
    _set(browser, "seed", "8")
    _submit(browser, By.ID, "select")
    assert reached.wait(WAIT)
    shown = _wait(browser, "#progress", "level 2")
    assert "leximin: LEXIMIN · level 2, types fixed (3 of 10), for " in shown
    bar = browser.find_element(By.ID, "progress-bar")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("3", "10")
    address = browser.current_url
    browser.get("about:blank")  # the convenor closes the page mid-run
    release.set()
    folder = root / token / "results-1"
    _wait_until(browser, lambda: (folder / "lottery.json").exists())
    browser.get(address)  # and comes back to the address later
    assert _wait(browser, "h1", "The panel") == "The panel: 10 seats"
    assert audit(folder, root / token / "registrants.csv", root / token / "quotas-1.yaml").verified


@needs_browser
def test_a_restarted_server_opens_its_workspaces_again(
    browser: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace's address works again after the server restarts: the quotas the form
    had, every finished run read again from its folder (a drawn public lottery too), a run
    cut off by the stop said to be so, and a replacement round from a reopened run."""
    from selenium.webdriver.common.by import By

    import panelsel.web.workspace as workspace

    root = tmp_path / "ws"
    release = threading.Event()
    with _serving(root) as url:
        token = _example_quotas(browser, url, tmp_path)
        _wellbeing_quotas(browser)
        _wait(browser, "#feasible", "10 seats")
        _set(browser, "seed", "11")
        _submit(browser, By.ID, "select")
        _wait(browser, "h1", "The panel")
        first = browser.find_element(By.ID, "members").text
        browser.get(f"{url}/w/{token}/quotas")
        _wait(browser, "#feasible", "10 seats")
        _set(browser, "seed", "5")
        _set(browser, "panels", "20")
        _submit(browser, By.ID, "select")
        _wait(browser, "h1", "Published")
        _set(browser, "number", "3")
        _submit(browser, By.ID, "draw-button")
        _wait(browser, "#drawn", "panel 3")
        drawn = browser.find_element(By.ID, "members").text
        # a third run, still running when the server stops
        real_select = workspace.select

        def held(*args: object, **kwargs: object) -> object:
            assert release.wait(WAIT)
            return real_select(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(workspace, "select", held)
        browser.get(f"{url}/w/{token}/quotas")
        _wait(browser, "#feasible", "10 seats")
        _submit(browser, By.ID, "select")
        _wait(browser, "h1", "Selecting")
    try:
        with _serving(root) as again:  # the server started again, with the same folder
            browser.get(f"{again}/w/{token}/runs/1")
            assert _wait(browser, "h1", "The panel") == "The panel: 10 seats"
            assert browser.find_element(By.ID, "restored").is_displayed()
            assert browser.find_element(By.ID, "members").text == first
            browser.get(f"{again}/w/{token}/runs/2")
            assert _wait(browser, "#drawn") == "Drawn: panel 3"
            assert browser.find_element(By.ID, "members").text == drawn
            browser.get(f"{again}/w/{token}/runs/3")
            assert "the server stopped while it ran" in _wait(browser, "#error", "did not finish")
            # the quotas the form had: the example's, as typed
            browser.get(f"{again}/w/{token}/quotas")
            _wait(browser, "#feasible", "10 seats from 45 registrants")
            field = browser.find_element(By.ID, "min:Services accessed=Disability support")
            assert field.get_attribute("value") == "3"
            # a reopened run is audited and continued like any other
            browser.get(f"{again}/w/{token}/runs/1")
            _submit(browser, By.ID, "run-audit")
            assert "Audit passed" in _wait(browser, "#audit-verdict")
            leaving = first.split(", ")[0]
            browser.find_element(By.ID, f"dropout-{leaving}").click()
            browser.find_element(By.ID, "loosen").click()
            _submit(browser, By.ID, "replace-button")
            assert _wait(browser, "h1", "Replacement round").endswith("1 seat(s) filled")
            assert browser.current_url.endswith(f"/w/{token}/runs/4")
            assert audit(
                root / token / "results-4",
                root / token / "registrants.csv",
                root / token / "quotas-1.yaml",
            ).verified
            # a token no workspace has is refused, as before
            browser.get(f"{again}/w/{'A' * 22}/quotas")
            assert "does not know" in _wait(browser, "main", "does not know")
        # a run whose input was changed while the server was stopped says so on its page;
        # the others open as they were
        changed = root / token / "quotas-2.yaml"
        changed.write_text(changed.read_text(encoding="utf-8") + "\n# edited\n", "utf-8")
        with _serving(root) as third:
            browser.get(f"{third}/w/{token}/runs/2")
            refused = _wait(browser, "#error", "sha256")
            assert refused.startswith("Verification failed:") and "quotas-2.yaml" in refused
            browser.get(f"{third}/w/{token}/runs/1")
            assert browser.find_element(By.ID, "members").text == first
    finally:
        release.set()


def test_serve_prints_its_address_and_the_earlier_work_then_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    """``panelsel serve`` in a pipe: where to open the page, the addresses of the work kept
    in its folder (whole lines, never wrapped), and a clean stop on Ctrl-C (exit 0)."""
    import signal
    import subprocess
    import sys

    from panelsel.web.workspace import Workspaces

    root = tmp_path / "ws"
    kept = Workspaces(root).new()
    kept.load("registrants.csv", (EXAMPLE / "registrants.csv").read_bytes(), ReadOptions())
    env = {**os.environ, "COLUMNS": "80"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "panelsel",
            "serve",
            "--no-browser",
            "--port",
            "0",
            "--folder",
            str(root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as a terminal delivers it, whatever this test runner inherited
        preexec_fn=child_dispositions(),
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        first = re.fullmatch(
            r"panelsel serve: open (http://127\.0\.0\.1:\d+/) in your browser \(Ctrl-C stops "
            r"it\)\n",
            lines[0],
        )
        assert first is not None, lines
        url = first[1]
        assert lines[1] == f"files are kept in {root}\n"
        assert lines[2] == "earlier work in that folder (open its address to go on):\n"
        address = f"{url}w/{kept.token}/"
        assert re.fullmatch(
            re.escape(f"  {address}  registrants.csv, 0 run(s), ") + r"\d{4}-\d\d-\d\d \d\d:\d\d\n",
            lines[3],
        ), lines[3]
        with urllib.request.urlopen(address) as response:
            assert "45 registrants" in response.read().decode("utf-8")
    finally:
        # Ctrl-C pressed twice, as an impatient user does (the second came during the
        # shutdown, and the lifespan task logged a traceback)
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=WAIT)
    assert process.returncode == 0, err
    assert err == f"panelsel serve stopped; finished results are in {root}\n", err  # no traceback


@needs_browser
def test_a_quota_file_loaded_in_the_page_keeps_its_own_panel_size(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    """A quota file's own panel size wins over the form's (it was overridden by the form's
    before); a file that gives none takes the form's."""
    from selenium.webdriver.common.by import By

    url, _ = server
    _example_quotas(browser, url, tmp_path)
    _set(browser, "panel_size", "7")
    _submit(browser, By.CSS_SELECTOR, "button[value=check]")
    browser.find_element(By.ID, "quota_file").send_keys(str(EXAMPLE / "quotas.yaml"))
    _submit(browser, By.XPATH, "//button[text()='Load the quota file']")
    assert "10 seats from 45 registrants" in _wait(browser, "#feasible")
    assert browser.find_element(By.ID, "panel_size").get_attribute("value") == "10"
    assert browser.find_element(By.ID, "min:gender=Female").get_attribute("value") == "5"
    unsized = tmp_path / "quotas-unsized.yaml"
    unsized.write_text(
        "\n".join(
            line
            for line in (EXAMPLE / "quotas.yaml").read_text(encoding="utf-8").splitlines()
            if not line.startswith("panel_size")
        ),
        encoding="utf-8",
    )
    _set(browser, "panel_size", "8")
    _submit(browser, By.CSS_SELECTOR, "button[value=check]")
    browser.find_element(By.ID, "quota_file").send_keys(str(unsized))
    _submit(browser, By.XPATH, "//button[text()='Load the quota file']")
    assert browser.find_element(By.ID, "panel_size").get_attribute("value") == "8"
    # 6 + 4 seats of study level do not fit in 8: the verdict is the form's panel size's
    assert "No panel meets these quotas" in _wait(browser, "#infeasible")


def test_the_dropout_list_names_people_where_the_export_has_names(tmp_path: Path) -> None:
    from panelsel.web.workspace import Workspaces

    spaces = Workspaces(tmp_path / "ws")
    forms = spaces.new()
    forms.load(
        "registrations.csv",
        (FORMS / "registrations.csv").read_bytes(),
        ReadOptions(delimiter=";", drop_duplicates="Email"),
    )
    assert forms.names_of(["1", "2", "no such id"]) == {"1": "Ines Khan", "2": "Rosa Walsh"}
    example = spaces.new()
    example.load("registrants.csv", (EXAMPLE / "registrants.csv").read_bytes(), ReadOptions())
    assert example.names_of(["S1001"]) == {"S1001": "Ines Khan"}
    unnamed = spaces.new()
    unnamed.load(
        "registrants.csv",
        b"".join(
            line.split(b",", 2)[0] + b"," + line.split(b",", 2)[2]  # without the Name column
            for line in (EXAMPLE / "registrants.csv").read_bytes().splitlines(keepends=True)
        ),
        ReadOptions(),
    )
    assert unnamed.names_of(["S1001"]) == {}  # no column of names: ids alone


@needs_browser
def test_a_round_takes_its_own_algorithm_solver_and_time_limit(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    """The dropout form's more options are `panelsel replace`'s --algorithm, --solver,
    --time-limit and --best-effort; the round records them and passes its audit."""
    import json

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, root = server
    token = _example_quotas(browser, url, tmp_path)
    _wellbeing_quotas(browser)
    _wait(browser, "#feasible", "10 seats")
    _set(browser, "seed", "21")
    _submit(browser, By.ID, "select")
    members = _wait(browser, "#members").split(", ")
    chosen = Select(browser.find_element(By.ID, "round-algorithm")).first_selected_option
    assert chosen.get_attribute("textContent") == "leximin (as before)"
    browser.find_element(By.ID, f"dropout-{members[1]}").click()
    _open_details(browser, "#replace ~ form details")
    Select(browser.find_element(By.ID, "round-algorithm")).select_by_value("maximin")
    Select(browser.find_element(By.ID, "round-solver")).select_by_value("cbc")
    _set(browser, "round-time-limit", "abc")
    _submit(browser, By.ID, "replace-button")
    assert "the time limit must be a number, not 'abc'" in _wait(browser, "#error", "time limit")
    browser.back()
    _wait(browser, "#replace-button")
    _open_details(browser, "#replace ~ form details")
    if not browser.find_element(By.ID, f"dropout-{members[1]}").is_selected():
        browser.find_element(By.ID, f"dropout-{members[1]}").click()
    Select(browser.find_element(By.ID, "round-algorithm")).select_by_value("maximin")
    Select(browser.find_element(By.ID, "round-solver")).select_by_value("cbc")
    _set(browser, "round-time-limit", "90")
    _set(browser, "round-seed", "4")
    if not browser.find_element(By.ID, "loosen").is_selected():
        browser.find_element(By.ID, "loosen").click()
    _submit(browser, By.ID, "replace-button")
    assert "drawn with maximin, seed 4" in _wait(browser, "#summary", "maximin")
    (folder,) = [p for p in (root / token).glob("results-*") if (p / "replacements.csv").exists()]
    document = json.loads((folder / "lottery.json").read_text(encoding="utf-8"))
    assert (document["algorithm"], document["solver"], document["seed"]) == ("maximin", "cbc", 4)
    cli = CliRunner().invoke(
        app,
        [
            "audit",
            str(folder),
            str(root / token / "registrants.csv"),
            str(root / token / "quotas-1.yaml"),
        ],
    )
    assert cli.exit_code == 0 and "Audit passed" in cli.output, cli.output


def test_a_long_verdict_in_one_tab_does_not_hold_up_another_tabs_pages(
    server: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verdict of a national pool takes seconds (10.6 s on hard_10000). It runs in a
    worker thread: while it is held (by an event, not by timing), another request is
    answered. Before, the event loop ran it, and every other tab's page waited for it."""
    from panelsel.web.workspace import Workspace, Workspaces

    url, root = server
    space = Workspaces(root).new()  # opened by the server from its record
    space.load("registrants.csv", (EXAMPLE / "registrants.csv").read_bytes(), ReadOptions())
    real_check = Workspace.check
    entered, release = threading.Event(), threading.Event()

    def held(self: Workspace, spec: object) -> object:
        entered.set()
        assert release.wait(WAIT), "the test never released the verdict"
        return real_check(self, spec)  # type: ignore[arg-type]

    monkeypatch.setattr(Workspace, "check", held)
    answers: dict[str, int] = {}

    def open_quotas() -> None:
        with urllib.request.urlopen(f"{url}/w/{space.token}/quotas", timeout=WAIT) as r:
            answers["quotas"] = r.status

    slow = threading.Thread(target=open_quotas)
    slow.start()
    try:
        assert entered.wait(WAIT)
        with urllib.request.urlopen(url + "/static/app.css", timeout=WAIT) as response:
            answers["css"] = response.status
        assert answers == {"css": 200}, answers  # answered while the verdict is held
    finally:
        release.set()
        slow.join(WAIT)
    assert answers == {"css": 200, "quotas": 200}


def test_reopening_one_workspace_does_not_hold_up_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart, the first request of a workspace reads it again (seconds on a
    national pool). Meanwhile another workspace is served (the reopening is held by an
    event); a second request for the same workspace waits for it and gets the same one."""
    from panelsel.web.workspace import Workspace, Workspaces

    root = tmp_path / "ws"
    kept = Workspaces(root).new()
    kept.load("registrants.csv", (EXAMPLE / "registrants.csv").read_bytes(), ReadOptions())
    spaces = Workspaces(root)  # the server started again
    other = spaces.new()
    real_reopen = Workspace.reopen
    entered, release = threading.Event(), threading.Event()

    def held(token: str, folder: Path) -> Workspace:
        entered.set()
        assert release.wait(WAIT), "the test never released the reopening"
        return real_reopen(token, folder)

    monkeypatch.setattr(Workspace, "reopen", staticmethod(held))
    found: list[Workspace | None] = []
    first = threading.Thread(target=lambda: found.append(spaces.get(kept.token)))
    second = threading.Thread(target=lambda: found.append(spaces.get(kept.token)))
    first.start()
    try:
        assert entered.wait(WAIT)
        second.start()
        meanwhile: list[Workspace | None] = []
        third = threading.Thread(target=lambda: meanwhile.append(spaces.get(other.token)))
        third.start()
        third.join(WAIT)
        assert meanwhile == [other]  # answered while the reopening is held
        assert found == []
    finally:
        release.set()
        first.join(WAIT)
        second.join(WAIT)
    assert len(found) == 2 and found[0] is found[1] is not None
    assert found[0].token == kept.token and len(found[0].need_pool().ids) == 45


@needs_browser
def test_the_pages_time_limited_check_offers_to_work_it_all_out(
    server: tuple[str, Path], browser: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a national pool the page's 10-second check can stop after the verdict, or before
    it. The page says so in its own words (not the CLI's "--time-limit", which the page's
    check does not have), keeps the quota page, and offers the check without a limit. The
    solver's time limit is simulated: a real one would make this test depend on timing."""
    from selenium.webdriver.common.by import By

    import panelsel.web.workspace as workspace
    from panelsel.errors import TimeLimitError
    from panelsel.solve.backends import SolverConfig
    from panelsel.solve.feasibility import INCOMPLETE_FIX

    real = workspace.diagnose
    limits: list[float | None] = []
    stop = {"where": "after"}

    def limited(model: object, spec: object, pool: object, config: SolverConfig) -> object:
        limits.append(config.time_limit)
        if config.time_limit is not None and stop["where"] == "before":
            raise TimeLimitError(
                f"the time limit of {config.time_limit:g} s ran out before the lottery was "
                "computed",
                hint="raise --time-limit, or simplify the quotas",
            )
        found = real(model, spec, pool, SolverConfig())  # type: ignore[arg-type]
        if config.time_limit is not None:
            found.incomplete = (
                "the time limit ran out after the verdict: the seats each value can get and "
                "who can never be selected were not all worked out; " + INCOMPLETE_FIX
            )
        return found

    monkeypatch.setattr(workspace, "diagnose", limited)
    url, _ = server
    _example_quotas(browser, url, tmp_path)
    note = _wait(browser, "#incomplete", "were not all worked out")
    assert "(the page's check stops after 10 s)." in note and "--time-limit" not in note
    assert limits[-1] == workspace.CHECK_SECONDS
    _submit(browser, By.ID, "check-whole")
    _wait(browser, "#feasible", "can be met")
    assert limits[-1] is None and not browser.find_elements(By.ID, "incomplete")
    # stopped before the verdict: the quota page stays, with the error and the way past it
    stop["where"] = "before"
    browser.get(browser.current_url)  # the quota page again (GET: the page's own check)
    shown = _wait(browser, "#error", "Time limit")
    assert shown.splitlines()[0] == (
        "Time limit: the time limit of 10 s ran out before the lottery was computed (the "
        "page's check stops after 10 s)"
    )
    assert "fix: press “Work it all out” to check without that limit" in shown
    assert _wait(browser, "h1") == "Quotas"
    _submit(browser, By.ID, "check-whole")
    _wait(browser, "#feasible", "can be met")
    assert limits[-1] is None


@pytest.mark.parametrize(
    ("outcomes", "proven"),
    [
        ({"files": "pass", "marginals": "pass"}, True),
        ({"files": "pass", "recompute": "skip"}, True),
        ({"files": "pass", "recompute": "inconclusive"}, True),
        ({"files": "pass", "optimality": "fail", "recompute": "inconclusive"}, False),
        ({"files": "fail", "marginals": "fail", "recompute": "pass"}, True),
        ({"files": "pass", "recompute": "skip", "marginals": "inconclusive"}, False),
    ],
)
def test_the_pages_audit_verdict_is_the_clis_line(
    outcomes: dict[str, str], proven: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page and ``panelsel audit`` say the same verdict for the same report (a
    best-effort run's "NOT PROVEN OPTIMAL" included; the page said only "did not pass")."""
    from rich.console import Console

    from panelsel import console
    from panelsel.audit.certificates import Check
    from panelsel.audit.report import AuditReport
    from panelsel.web.app import _templates

    checks = [
        Check(
            name,
            passed=outcome != "fail",
            detail="",
            skipped=outcome == "skip",
            inconclusive=outcome == "inconclusive",
        )
        for name, outcome in outcomes.items()
    ]
    report = AuditReport(Path("run"), "leximin", checks, proven_optimal=proven)
    html = _templates.get_template("audit_verdict.html").render(report=report)
    shown = re.sub(r"<[^>]+>", "", html).strip()
    printed = io.StringIO()
    monkeypatch.setattr(console, "stdout", Console(file=printed, width=400, highlight=False))
    console.render_audit(report)
    assert shown == printed.getvalue().strip().splitlines()[-1]


@needs_browser
def test_a_lottery_stopped_by_its_time_limit_says_so_at_the_top(
    server: tuple[str, Path], browser: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A best-effort lottery (stopped by its time limit) heads its page with "Not proven
    optimal" (on hard_10000 the page said it only in the notes, below 150 members). The
    stop is the time-limit tests' LEXIMIN that offers MAXIMIN's lottery and then runs out
    of time, not a real clock."""
    from selenium.webdriver.common.by import By

    url, _ = server
    token = _example_quotas(browser, url, tmp_path)
    _set(browser, "seed", "6")
    _submit(browser, By.ID, "select")
    _wait(browser, "h1", "The panel")
    assert not browser.find_elements(By.ID, "unproven")  # a proven lottery: no box
    leximin_times_out(monkeypatch)
    browser.get(f"{url}/w/{token}/quotas")
    _set(browser, "seed", "6")
    _open_details(browser, "fieldset details")
    _set(browser, "time_limit", "5")
    browser.find_element(By.ID, "best_effort").click()
    _submit(browser, By.ID, "select")
    _wait(browser, "h1", "The panel")
    box = browser.find_element(By.ID, "unproven")
    assert box.text.startswith("Not proven optimal. The time limit ran out")
    assert box.location["y"] < browser.find_element(By.ID, "members").location["y"]


@needs_browser
def test_the_id_column_and_legacys_runs_are_the_clis_options(
    server: tuple[str, Path], browser: object, tmp_path: Path
) -> None:
    """`--id-column` on the load form (a column init did not pick; a column that is not one
    gets the CLI's message at the field), and legacy's `--samples` under More options."""
    import json

    from selenium.webdriver.common.by import By

    url, root = server
    registrants = tmp_path / "registrants.csv"
    shutil.copy(EXAMPLE / "registrants.csv", registrants)
    browser.get(url + "/")
    browser.find_element(By.ID, "registrants").send_keys(str(registrants))
    _open_details(browser, "form details")
    _set(browser, "id_column", "Gender")  # not one id per person
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    shown = _wait(browser, "#error", "same id")
    assert "row 3, column 'Gender', value 'Female': is the same id as row 2" in shown
    assert browser.find_element(By.ID, "id_column").get_attribute("aria-invalid") == "true"
    browser.find_element(By.ID, "registrants").send_keys(str(registrants))
    _open_details(browser, "form details")
    _set(browser, "id_column", "Email")
    _submit(browser, By.CSS_SELECTOR, "form button[type=submit]")
    assert _wait(browser, "h1", "registrants") == "45 registrants"
    assert "Email (id)" in browser.find_element(By.CSS_SELECTOR, "#preview thead").text
    token = browser.current_url.split("/w/")[1].split("/")[0]
    browser.get(f"{url}/w/{token}/quotas")
    _wait(browser, "#feasible")
    browser.find_element(By.ID, "algorithm-legacy").click()
    _open_details(browser, "fieldset details")
    _set(browser, "samples", "300")
    _set(browser, "seed", "2")
    _submit(browser, By.ID, "select")
    members = _wait(browser, "#members").split(", ")
    assert all("@example.ac.uk" in m for m in members)  # ids from the Email column
    document = json.loads((root / token / "results-1" / "lottery.json").read_text(encoding="utf-8"))
    assert document["algorithm"] == "legacy" and document["stats"]["samples"] == 300
    assert document["id_column"] == "Email"


def test_the_quota_file_the_page_writes_keeps_everything_the_form_does_not_show(
    tmp_path: Path,
) -> None:
    """Each run reads the quota file the page writes (`quotas-<n>.yaml`), so a rule the form
    does not show (age bands, multi-value answers, the household rule, the id column) must
    come back from it unchanged, or the run would silently select under other rules."""
    from panelsel.inputs.quotas import load_quotas
    from panelsel.web.workspace import quota_text

    given = tmp_path / "given.yaml"
    given.write_text(
        "panel_size: 12\nid_column: pid\ncategories:\n"
        "  age:\n    column: Age\n"
        '    bands: {"16-29": [16, 29], "30-64": [30, 64], "65+": [65, null]}\n'
        '    quotas: {"16-29": {min: 2, max: 5}, "30-64": "40%", "65+": {min: 1}}\n'
        "  services:\n    column: Services\n    multi_value: ';'\n"
        "    quotas: {A: {min: 1}, B: {max: 3}}\n"
        "households: {columns: [address, postcode], max_per_household: 1}\n",
        encoding="utf-8",
    )
    spec = load_quotas(given)
    written = tmp_path / "written.yaml"
    written.write_text(quota_text(spec), encoding="utf-8")
    again = load_quotas(written)
    assert (again.panel_size, again.id_column, again.households) == (
        12,
        "pid",
        spec.households,
    )
    assert again.households is not None and again.households.columns == ("address", "postcode")
    assert [
        (c.name, c.column, c.multi_value, c.bands, [(q.value, q.min, q.max) for q in c.quotas])
        for c in again.categories
    ] == [
        (c.name, c.column, c.multi_value, c.bands, [(q.value, q.min, q.max) for q in c.quotas])
        for c in spec.categories
    ]
    # the percentage became seats by the quota file's rule: 40% of 12 is 4.8
    assert [(q.min, q.max) for q in again.categories[0].quotas][1] == (4, 5)
