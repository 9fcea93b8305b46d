"""Write a report of trainer runs and save a headless-Chromium screenshot of it (for the docs).

Usage::

    python benchmarks/screenshot_report.py RUN_DIR... --html OUT.html --png docs/img/OUT.png
    python benchmarks/screenshot_report.py --demo --html demo.html --png docs/img/report_demo.png

``--demo`` writes the report of the browser test instead (PCA codes of digits against
Gaussian noise, gated on ``lps > 0.5``). Same browser flags as
tests/reporting/test_builder_browser.py; needs Debian's chromium and chromium-driver and
the selenium package (dev extra).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import lps_eval

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def demo_report(path: str):
    """The report the browser test renders (tests/reporting/test_builder_browser.py)."""
    import numpy as np

    from lps_eval.simulations import digits_latents

    z, _ = digits_latents(n_components=8, seed=0)
    gauss = np.random.default_rng(0).normal(size=z.shape)
    return lps_eval.report(
        {"digits-pca": z, "gaussian": gauss},
        path,
        fail_if=["lps > 0.5"],
        title="lps-eval demo: PCA codes of digits vs Gaussian noise",
        n_boot=50,
        mmd={"permutations": 50},
        independence={"permutations": 50},
        curve_points=3,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*")
    parser.add_argument("--demo", action="store_true", help="the browser test's demo report")
    parser.add_argument("--html", required=True)
    parser.add_argument("--png", required=True)
    parser.add_argument("--title", default=None)
    parser.add_argument("--scroll-to", default=None, help="element id to scroll to first")
    args = parser.parse_args()
    if args.demo:
        result = demo_report(args.html)
    elif args.runs:
        result = lps_eval.report(args.runs, args.html, title=args.title, seed=0)
    else:
        parser.error("give run directories or --demo")
    print(f"wrote {result.path}: {len(result.figures)} figures")

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument("--window-size=1280,1600")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(Path(args.html).resolve().as_uri())
        if args.scroll_to:
            driver.execute_script(f"document.getElementById('{args.scroll_to}').scrollIntoView();")
        driver.save_screenshot(args.png)
    finally:
        driver.quit()
    print(f"saved {args.png}")


if __name__ == "__main__":
    main()
