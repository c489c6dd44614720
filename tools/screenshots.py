"""Regenerate the README's pictures of the mobile set: Chromium at 240x320 with a handset's
User-Agent, and a lynx dump, against a demo site served on 127.0.0.1.

    python tools/screenshots.py docs/
Needs Debian's chromium, lynx and (for Japanese text) fonts-noto-cjk.
"""
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app, db
from portal.ops import demo# noqa: E402

HANDSET = "SoftBank/1.0/910T/TJ001/SN000000000000000 Browser/NetFront/3.3 Profile/MIDP-2.0"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def serve():
    import waitress

    folder = tempfile.mkdtemp(prefix="portal-shots-")
    app = create_app({"DATA_DIR": folder, "SECRET_KEY": "shots"})
    db.upgrade()
    with app.app_context(), db.database.connection_context():
        demo.seed(10)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return server, f"http://127.0.0.1:{server.effective_port}"


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    server, base = serve()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_context(viewport={"width": 240, "height": 320}, user_agent=HANDSET,
                                       locale="ja-JP").new_page()
            page.goto(base + "/login")
            page.fill("input[name=login_id]", "demo1")
            page.fill("input[name=password]", demo.DEMO_PASSWORD)
            page.click("input[type=submit]")
            for name, path in (("mobile-home", "/"), ("mobile-diary", "/diary/"), ("mobile-profile", "/u/demo2")):
                if path != "/":
                    page.goto(base + path)
                page.screenshot(path=str(out / f"{name}.png"))
            browser.close()
        dump = subprocess.run(["lynx", "-dump", "-width=60", "-display_charset=utf-8", base + "/login"],
                              capture_output=True, text=True, timeout=30, check=True).stdout
        (out / "lynx-login.txt").write_text(dump, encoding="utf-8")
    finally:
        server.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs")
