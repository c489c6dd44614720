"""Device detection against real User-Agent strings, and the view override."""
import csv
from pathlib import Path

import pytest

from helpers import DOCOMO_UA, PC_UA
from portal.web.device import detect

with (Path(__file__).parent / "data" / "user_agents.tsv").open(encoding="utf-8") as _fh:
    ROWS = list(csv.DictReader(_fh, delimiter="\t"))


@pytest.mark.parametrize("row", ROWS, ids=[r["user_agent"][:40] for r in ROWS])
def test_user_agent_table(row):
    device = detect(row["user_agent"])
    assert device.kind == row["kind"]
    assert device.carrier == row["carrier"]
    assert device.cookies == (row["cookies"] == "yes")
    assert device.charset == row["charset"]


def test_table_is_not_empty():
    assert len(ROWS) >= 20


def test_au_over_https_has_no_cookies():
    assert detect("KDDI-CA32 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0", secure=True).cookies is False


def test_docomo_budget_follows_cache_field():
    assert detect("DoCoMo/1.0/SO506iC/c20/TB/W20H10").markup_budget == 5120
    assert detect("DoCoMo/1.0/P503i/c10").markup_budget == 5120
    assert detect("DoCoMo/1.0/N503i/c5").markup_budget == 5120


def test_j_phone_is_shift_jis():
    device = detect("J-PHONE/4.0/J-SH51/SNJSHA3029293 SH/0001aa Profile/MIDP-1.0")
    assert (device.carrier, device.charset) == ("softbank", "Shift_JIS")


@pytest.mark.parametrize("ua,start,switch,expected", [
    (PC_UA, "pc", "mobile", "mobile"),
    (DOCOMO_UA, "mobile", "pc", "pc"),
])
def test_view_override_is_remembered(make_client, ua, start, switch, expected):
    client = make_client(ua)
    marker = {"pc": "<!DOCTYPE html>", "mobile": "<?xml"}
    head = lambda path: client.get(path).data[:200].decode("ascii", "replace")  # noqa: E731
    assert marker[start] in head("/")
    assert marker[expected] in head(f"/?view={switch}")
    # Remembered on the next page without the parameter.
    assert marker[expected] in head("/login")
    # And switched back.
    assert marker[start] in head(f"/login?view={start}")


def test_switch_link_on_every_page_of_both_sets(make_client):
    for ua, target in ((PC_UA, "view=mobile"), (DOCOMO_UA, "view=pc")):
        client = make_client(ua)
        for path in ("/", "/login", "/register", "/no-such-page"):
            html = client.get(path).data.decode("cp932" if ua == DOCOMO_UA else "utf-8")
            assert target in html, (ua, path)
