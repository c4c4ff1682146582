"""Open every page of the built HTML docs in headless Chromium and check what a reader sees.

A page fails when, after its scripts have run (MathJax included):

- its visible text still holds LaTeX source (``\\(``, ``\\[``, ``$$`` or a TeX command
  such as ``\\frac``) outside code, i.e. math that was not rendered;
- a math element was not typeset, or MathJax reports an error in it;
- an image is missing or cannot be decoded;
- a code block's lines run past its box (cut off on the right);
- it loads a script, style sheet or image from the network: the docs must read the
  same offline, so Chromium is also told that no host name resolves.

Usage::

    python tools/check_docs.py [docs/_build/html] [--screenshot PAGE=PNG ...]

``make docs-check`` runs it after ``make docs``. It needs Chromium and its driver
(Debian: ``apt-get install chromium chromium-driver``) and the ``selenium`` package
(in the ``docs`` extra). Exit status 0 when every page passes, 1 otherwise.
"""

import argparse
import shutil
import sys
from pathlib import Path

# Folders of the build that hold assets and generated sources, not pages.
SKIPPED_DIRS = {"_static", "_sources", "_images", "_downloads", "_modules"}

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # No name resolves, so a page that needs the network shows it (e.g. a CDN MathJax).
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--window-size=1280,1600",
]

# Runs in the page once it has loaded; resolves to a list of problems (strings).
CHECK_PAGE = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const problems = [];
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; } catch (e) { problems.push("MathJax failed: " + e); }
  }
  // Raw LaTeX in the visible text, outside code and outside MathJax's output.
  const skip = "pre, code, kbd, samp, script, style, textarea, .highlight, mjx-container";
  const commands = "frac|mathbb|mathrm|operatorname|sum|prod|int|sqrt|log|exp|top|times|" +
    "leftarrow|alpha|beta|gamma|tau|sigma|ell|infty|le|ge|ne|in|text|begin|end";
  const latex = new RegExp(String.raw`\\[()\[\]]|\$\$|\\(?:${commands})\b`);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    const match = node.textContent.match(latex);
    if (match) {
      const text = node.textContent.trim().replace(/\s+/g, " ");
      problems.push("raw LaTeX " + JSON.stringify(match[0]) + " in: " + text.slice(0, 120));
    }
  }
  // Every math element typeset without error.
  for (const el of document.querySelectorAll(".math")) {
    if (!el.querySelector("mjx-container")) {
      problems.push("math not rendered: " + el.textContent.trim().slice(0, 80));
    } else if (el.querySelector("mjx-merror")) {
      problems.push("MathJax error in: " + el.textContent.trim().slice(0, 80));
    }
  }
  // Code cut off on the right: a block whose lines run past its box.
  for (const el of document.querySelectorAll("pre")) {
    if (el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1) {
      problems.push("code cut off on the right: " + el.textContent.trim().slice(0, 80));
    }
  }
  // Resources from the network.
  const remote = (url) => url && !/^(file:|data:|blob:|about:|#)/.test(url);
  for (const el of document.querySelectorAll("script[src], link[rel=stylesheet], img")) {
    const url = el.src || el.href;
    if (remote(url)) problems.push("loads from the network: " + url);
  }
  // Images: load each again eagerly (lazy images may not have been fetched) and decode.
  const images = Array.from(document.images, (img) => img.currentSrc || img.src);
  await Promise.all(images.filter((src) => !remote(src)).map((src) => new Promise((ok) => {
    const probe = new Image();
    probe.onload = () => {
      if (!probe.naturalWidth) problems.push("image has no pixels: " + src);
      ok();
    };
    probe.onerror = () => { problems.push("image missing or broken: " + src); ok(); };
    probe.src = src;
  })));
  return problems;
})().then(done, (e) => done(["check failed: " + e]));
"""


def pages(root):
    """HTML pages of the build under ``root``, in a stable order."""
    for path in sorted(root.rglob("*.html")):
        if not SKIPPED_DIRS.intersection(path.relative_to(root).parts[:-1]):
            yield path


def make_driver():
    """A headless Chromium driven by Debian's chromedriver."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        sys.exit("error: selenium is missing: pip install selenium (it is in the docs extra)")
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not Path(driver_path).exists() or browser is None:
        sys.exit("error: Chromium is missing: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    return driver


def check_page(driver, path):
    """Load ``path`` and return the list of problems a reader would see."""
    driver.get(path.resolve().as_uri())
    return driver.execute_async_script(CHECK_PAGE)


def screenshot(driver, path, png):
    """Save the whole height of page ``path`` (up to 8000 px) as ``png``."""
    driver.get(path.resolve().as_uri())
    driver.execute_async_script(CHECK_PAGE)  # waits for MathJax and the images
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 800), 8000))
    driver.save_screenshot(str(png))
    driver.set_window_size(1280, 1600)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "root",
        nargs="?",
        default="docs/_build/html",
        type=Path,
        help="the HTML build folder (default docs/_build/html)",
    )
    parser.add_argument(
        "--screenshot",
        action="append",
        default=[],
        metavar="PAGE=PNG",
        help="also save PAGE (relative to root) as the image PNG",
    )
    args = parser.parse_args(argv)

    root = args.root
    if not (root / "index.html").is_file():
        sys.exit(f"error: no {root}/index.html: build the docs first (make docs)")
    shots = []
    for item in args.screenshot:
        page, sep, png = item.partition("=")
        if not sep or not (root / page).is_file():
            sys.exit(f"error: --screenshot wants PAGE=PNG with PAGE under {root}, got {item!r}")
        shots.append((root / page, Path(png)))

    driver = make_driver()
    failed = 0
    try:
        checked = list(pages(root))
        for path in checked:
            problems = check_page(driver, path)
            if problems:
                failed += 1
                print(f"FAIL {path.relative_to(root)}")
                for problem in problems[:10]:
                    print(f"     {problem}")
                if len(problems) > 10:
                    print(f"     ... and {len(problems) - 10} more")
        for path, png in shots:
            screenshot(driver, path, png)
            print(f"screenshot of {path.relative_to(root)} in {png}")
    finally:
        driver.quit()
    print(f"{len(checked) - failed} passed, {failed} failed: pages of {root} in headless Chromium")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
