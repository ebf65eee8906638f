"""Build the docs site and screenshot its main pages in headless Chromium, at 1400 px wide.

    python scripts/docs_screenshots.py [OUT_DIR] [--height 3000] [--pages index sampling ...]

A long page is best seen whole: ``--pages derivations --height 20000``.

OUT_DIR (default: a folder ``refebm-docs-screenshots`` in the system's temporary directory; keep
it outside the repository) receives ``site/`` and one PNG per page, ``<page>.png`` (top of
the page, 1400 x 1000) and ``<page>-long.png`` (1400 x HEIGHT). Look at them for: math typeset
by MathJax in the body and the table of contents (no raw ``\\(...\\)``), and wide tables and code
blocks scrolling inside their box instead of running past the text column.

The site is served on a local port, so MathJax and its fonts load as they would from a server;
with ``docs/javascripts/mathjax/`` present (``bash scripts/fetch_mathjax.sh``) nothing is fetched
from the network. Needs Chromium (Debian: ``apt-get install chromium``).
"""

import argparse
import functools
import http.server
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = ["index", "score-matching", "sampling", "derivations", "normalization", "api-partition"]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("Chromium not found (Debian: apt-get install chromium)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?",
                        default=os.path.join(tempfile.gettempdir(), "refebm-docs-screenshots"))
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--pages", nargs="+", default=PAGES)
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out).resolve()
    if ROOT in out.parents or out == ROOT:
        sys.exit(f"{out} is inside the repository: pick a folder outside it")
    out.mkdir(parents=True, exist_ok=True)
    if not (ROOT / "docs" / "javascripts" / "mathjax" / "tex-mml-chtml.js").exists():
        print("note: no local MathJax (bash scripts/fetch_mathjax.sh); the pages will try the CDN")
    site = out / "site"
    subprocess.run(["mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT, check=True)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    chromium = _chromium()
    try:
        for page in args.pages:
            url = f"http://127.0.0.1:{port}/" + ("" if page == "index" else f"{page}/")
            for suffix, height in (("", 1000), ("-long", args.height)):
                png = out / f"{page}{suffix}.png"
                with tempfile.TemporaryDirectory() as profile:
                    subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}",
                                    f"--window-size=1400,{height}", "--virtual-time-budget=15000",
                                    f"--screenshot={png}", url],
                                   check=True, capture_output=True, timeout=120)
                print(png)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
