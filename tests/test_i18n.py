"""The catalogs: complete, not fuzzy, compiled and in step with the source."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).parent.parent
PO = ROOT / "portal" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [("**.py", "python"), ("**/templates_mobile/**.html", "jinja2"),
           ("**/templates_pc/**.html", "jinja2")]


def load_po():
    with PO.open("rb") as fh:
        return read_po(fh, locale="ja")


def source_messages():
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "portal"), METHODS, keywords=KEYWORDS):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_japanese_catalog_is_complete_and_not_fuzzy():
    catalog = load_po()
    assert not catalog.fuzzy
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_catalog_covers_every_string_in_the_source():
    catalog = load_po()
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    missing = source_messages() - known
    assert not missing, f"run pybabel extract/update; missing: {sorted(missing)}"


def test_compiled_catalog_matches_the_po_file():
    with MO.open("rb") as fh:
        compiled = read_mo(fh)
    def entries(catalog):  # plural messages have a list or tuple of ids and strings
        return {tuple(m.id) if not isinstance(m.id, str) else m.id:
                tuple(m.string) if not isinstance(m.string, str) else m.string for m in catalog if m.id}

    po, mo = entries(load_po()), entries(compiled)
    assert po == mo, "run pybabel compile -d portal/translations"


def test_placeholders_survive_translation():
    for message in load_po():
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for token in ("%(name)s", "%(count)d", "%(code)s", "%(site)s", "%(min)d", "%(max)d", "%(num)d"):
            assert all((token in msgid) == (token in string) for string in strings), msgid


