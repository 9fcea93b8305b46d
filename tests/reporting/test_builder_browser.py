"""The HTML report in a real browser: headless Chromium opens it offline.

Asserts no console errors and that every image decoded (naturalWidth > 0), and saves the
screenshot the docs show (docs/img/report_demo.png). Skipped only when Chromium or its
driver is not installed (CI installs Debian's ``chromium`` and ``chromium-driver``).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import lps_eval
from lps_eval.simulations import digits_latents

pytest.importorskip("matplotlib")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    z, _ = digits_latents(n_components=8, seed=0)
    rng = np.random.default_rng(0)
    gauss = rng.normal(size=z.shape)
    path = tmp_path_factory.mktemp("report") / "report.html"
    result = lps_eval.report(
        {"digits-pca": z, "gaussian": gauss},
        path,
        fail_if=["lps > 0.5"],
        title="lps-eval demo: PCA codes of digits vs Gaussian noise",
        n_boot=50,
        mmd={"permutations": 50},
        independence={"permutations": 50},
        curve_points=3,
    )
    return result


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or DRIVER is None:
        message = "chromium / chromedriver not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):  # .ci/run installs them: a skip there would hide a failure
            pytest.fail(message)
        pytest.skip(message)
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1600")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def test_report_opens_offline_without_errors(demo_report, browser):
    html = demo_report.path.read_text()
    # self-contained: nothing that would fetch from the network
    for needle in ("<script", "http://", "https://", "@import", "<link"):
        assert needle not in html, needle
    browser.get(demo_report.path.resolve().as_uri())
    assert "lps-eval demo" in browser.title
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);"
    )
    assert len(images) == len(demo_report.figures) >= 9
    for alt, complete, width in images:
        assert complete and width > 0, alt
    headings = browser.execute_script(
        "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);"
    )
    assert any(h.startswith("Quality gates") for h in headings)
    assert "Summary" in headings
    shot = demo_report.path.parent / "report.png"  # docs/img is written by benchmarks/, not tests
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


@pytest.fixture(scope="module")
def verdict_report(tmp_path_factory):
    from lps_eval.simulations import gaussian_latents, paired_linear_latents

    path = tmp_path_factory.mktemp("verdicts") / "verdicts.html"
    return lps_eval.report(
        {
            "independent": gaussian_latents(3000, 6, seed=2),
            "dependent": paired_linear_latents(20_000, 6, r2=0.5, seed=3)[0],
        },
        path,
        predictor="knn",
        mmd={"permutations": 20},
        independence={"permutations": 10},
    )


def test_browser_reads_the_banners_of_an_independent_and_a_dependent_model(verdict_report, browser):
    """What a reader sees, not what the HTML source says: the rendered banner text."""
    from selenium.webdriver.common.by import By

    browser.get(verdict_report.path.resolve().as_uri())
    independent = browser.find_element(By.ID, "verdict-independent")
    dependent = browser.find_element(By.ID, "verdict-dependent")
    assert independent.is_displayed() and dependent.is_displayed()
    assert independent.text.startswith("No dependence detected at any N")
    assert "NOT converged" not in independent.text
    assert "Not a proof of independence" in independent.text
    assert dependent.text.startswith("LPS converged in N: dependence detected")
    bold = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".verdict b")]
    assert bold == [
        "No dependence detected at any N (LPS converged in N at the null level)",
        "LPS converged in N",
    ]
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "table.summary td")]
    assert "yes (at the null level)" in cells and "yes" in cells
    captions = browser.find_elements(By.CSS_SELECTOR, "figcaption")
    structure = [c.text for c in captions if c.text.startswith("Predictability structure")]
    assert len(structure) == 2
    assert "No pair above the null" in structure[0]
    assert "No pair above the null" not in structure[1]
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
