"""Markup bytes of every page of a demo site, per kind of client, side by side.

Run: python benchmarks/page_bytes.py
Crawls every page reachable from home as a logged-in demo user (following pagination
and parts) with a docomo handset (Shift_JIS), a SoftBank handset (UTF-8) and a desktop
browser, and prints the average and largest markup size as sent, and the mobile budget.
"""
import re
import shutil
import sys
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import make_app  # noqa: E402

from portal.ops import demo# noqa: E402
from portal.db import database  # noqa: E402

CLIENTS = {
    "docomo (Shift_JIS)": "DoCoMo/2.0 P07A3(c500;TB;W24H15)",
    "SoftBank (UTF-8)": "SoftBank/1.0/910T/TJ001/SN000000000000000 Browser/NetFront/3.3",
    "PC": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
}
SKIP = re.compile(r"^/(lang/|static/|healthz|logout)|[?&]view=|\.atom")
LIMIT = 500


def crawl(app, user_agent):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    html = client.get("/login").data.decode("cp932", "replace")
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1).replace("&amp;", "&")
    start = client.post(action, data={"login_id": "demo2", "password": demo.DEMO_PASSWORD}).headers["Location"]
    start = urlsplit(start)
    start = start.path + ("?" + start.query if start.query else "")
    seen, queue, sizes = {start}, deque([start]), []
    while queue and len(sizes) < LIMIT:
        path = queue.popleft()
        response = client.get(path)
        if response.status_code != 200 or response.mimetype not in ("text/html", "application/xhtml+xml"):
            continue
        sizes.append((len(response.data), path))
        text = response.data.decode("cp932" if "Shift_JIS" in response.content_type else "utf-8", "replace")
        for href in re.findall(r'href="([^"]+)"', text):
            url = urlsplit(urljoin("http://localhost" + path, href.replace("&amp;", "&")))
            if url.netloc not in ("", "localhost"):
                continue
            link = url.path + ("?" + url.query if url.query else "")
            if link not in seen and not SKIP.search(link):
                seen.add(link)
                queue.append(link)
    return sizes


def main():
    app, folder = make_app()
    with app.app_context(), database.connection_context():
        demo.seed(10)
    print(f"{'client':<22}{'pages':>7}{'average':>10}{'largest':>10}  largest page")
    over = 0
    for name, ua in CLIENTS.items():
        sizes = crawl(app, ua)
        average = sum(size for size, _ in sizes) / len(sizes)
        largest, where = max(sizes)
        print(f"{name:<22}{len(sizes):>7}{average:>10.0f}{largest:>10}  {where}")
        if name != "PC":
            over += sum(1 for size, _ in sizes if size > 5120)
    print(f"mobile pages over the 5,120-byte budget: {over}")
    shutil.rmtree(folder, ignore_errors=True)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
