"""Derive portal/data/emoji.tsv from the emoji4unicode project's emoji4unicode.xml.

Run by a developer when the source table changes; the portal only reads the derived TSV:
    python tools/derive_emoji_table.py path/to/emoji4unicode.xml > portal/data/emoji.tsv

Columns: unicode (hex code points, space-separated), docomo, kddi, softbank (PUA hex; a
leading ">" marks an approximate match, usable for output only), text fallback, name.
"""
import sys
import xml.etree.ElementTree as ET


def main(path):
    rows = []
    for element in ET.parse(path).getroot().iter("e"):
        # "+1F1EF+1F1F5" (a flag: two code points); "+" marked code points new in 2009.
        unicode = " ".join(part for part in element.get("unicode", "").replace(" ", "+").split("+") if part)
        codes = [element.get(carrier, "").strip() for carrier in ("docomo", "kddi", "softbank")]
        if not unicode and not any(codes):
            continue
        rows.append([unicode, *codes, element.get("text_fallback", ""), element.get("name", "")])
    print("# Derived from emoji4unicode.xml (emoji4unicode project, Apache License 2.0;")
    print("# authors: Darick Tong, Kat Momoi, Satoru Takabayashi; contributors: Markus Scherer,")
    print("# Mark Davis, Yasuo Kida, Peter Edberg). See portal/data/NOTICE.")
    print("unicode\tdocomo\tkddi\tsoftbank\ttext_fallback\tname")
    for row in rows:
        print("\t".join(value.replace("\t", " ") for value in row))


if __name__ == "__main__":
    main(sys.argv[1])
