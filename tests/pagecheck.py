"""Checks every page must pass, per template set."""
from lxml import etree, html as lxml_html

MOBILE_DOCTYPES = ("-//WAPFORUM//DTD XHTML Mobile 1.0//EN", "-//i-mode group (ja)//DTD XHTML i-XHTML")


def parse_mobile(body, charset="utf-8"):
    """Parse a mobile page as XML. Shift_JIS here is Windows-31J (cp932), which libxml2's strict
    Shift_JIS decoder refuses for NEC and IBM extensions (①, ～), so decode in Python first."""
    codec = "cp932" if charset.lower() == "shift_jis" else "utf-8"
    text = body.decode(codec)
    text = text.split("?>", 1)[1] if text.startswith("<?xml") else text
    return etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))


def check_mobile(response, budget=5120):
    """Assert the response is a valid mobile page; return the parsed XML root."""
    body = response.data
    charset = response.mimetype_params.get("charset", "utf-8")
    assert len(body) <= budget, f"{len(body)} bytes > {budget}"
    assert body.startswith(b"<?xml"), body[:80]
    text = body.decode("cp932" if charset.lower() == "shift_jis" else "utf-8")
    assert any(d in text[:400] for d in MOBILE_DOCTYPES), text[:300]
    assert f'encoding="{charset}"'.lower() in text[:60].lower()
    root = parse_mobile(body, charset)
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    assert not root.xpath("//x:script", namespaces=ns), "script in a mobile page"
    assert not root.xpath("//@*[starts-with(name(), 'on')]"), "event handler in a mobile page"
    for img in root.xpath("//x:img", namespaces=ns):
        for attr in ("width", "height", "alt"):
            assert img.get(attr) is not None, f"img without {attr}"
    keys = [a.get("accesskey") for a in root.xpath("//*[@accesskey]")]
    assert len(keys) == len(set(keys)), f"duplicate access keys {keys}"
    meta = root.xpath("//x:meta[@http-equiv='Content-Type']/@content", namespaces=ns)
    assert meta and charset.lower() in meta[0].lower(), meta
    return root


def check_pc(response):
    """Assert the response is a valid PC page; return the parsed HTML root."""
    text = response.get_data(as_text=True)
    assert text.startswith("<!DOCTYPE html>"), text[:80]
    root = lxml_html.document_fromstring(text)
    assert root.get("lang") in ("ja", "en")
    assert root.xpath("//meta[@name='viewport']")
    sheets = root.xpath("//link[@rel='stylesheet']/@href")
    assert len(sheets) == 1 and sheets[0].startswith("/static/"), sheets
    # Resources (not links the user may follow) never come from elsewhere.
    for value in root.xpath("//@src | //link/@href | //form/@action"):
        assert not value.startswith(("http://", "https://", "//")) or "127.0.0.1" in value \
            or "localhost" in value, f"external resource {value}"
    assert not root.xpath("//script[not(@src)]"), "inline script in a PC page"
    return root


def check_page(kind, response, budget=5120):
    """Dispatch to the checks of a template set."""
    return check_mobile(response, budget) if kind == "mobile" else check_pc(response)
