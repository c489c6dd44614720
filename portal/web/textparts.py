"""Long text in parts that fit a handset's page budget (escaped and encoded sizes counted)."""
import itertools

from flask import g


_ESCAPED_SIZE = {"&": 5, "<": 4, ">": 4, '"': 5, "'": 5, "\n": 7}  # "\n" becomes "<br />\n"
_BREAK_AFTER = "\n。、．，.!?！？ 　)）」』"


def _char_bytes(ch, codec):
    size = _ESCAPED_SIZE.get(ch)
    if size is not None:
        return size
    try:
        return len(ch.encode(codec))
    except UnicodeEncodeError:
        return 2  # sent as the geta mark 〓


_KNOWN_COSTS = {}  # codec -> {character: _char_bytes}; what a page's texts use, bounded
_KNOWN_LIMIT = 20000


def _costs(text, codec):
    """``_char_bytes`` of every character of ``text``: looked up, not encoded one by one (a
    long entry has thousands of characters, a handset's page splits it on every view)."""
    known = _KNOWN_COSTS.setdefault(codec, {})
    costs = []
    for ch in text:
        cost = known.get(ch)
        if cost is None:
            cost = _char_bytes(ch, codec)
            if len(known) < _KNOWN_LIMIT:
                known[ch] = cost
        costs.append(cost)
    return costs


def split_text(text, max_bytes, codec="utf-8"):
    """Split ``text`` into parts whose escaped, encoded size is at most ``max_bytes`` each.

    Parts break between characters (never inside a multi-byte character or an
    entity), preferably after a line break or punctuation near the end of a
    part; ``"".join(parts) == text`` always holds.
    """
    text = text or ""
    if max_bytes <= 0:
        return [text]
    costs = _costs(text, codec)
    if sum(costs) <= max_bytes:
        return [text]
    before = [0, *itertools.accumulate(costs)]  # before[i]: the size of text[:i]
    parts, start, size, last_break = [], 0, 0, None
    for index, ch in enumerate(text):
        cost = costs[index]
        if size + cost > max_bytes and index > start:
            # Break at the last good place in the final fifth of the part, else here.
            cut = last_break if last_break is not None and last_break > start and \
                before[last_break] - before[start] >= max_bytes * 4 // 5 else index
            parts.append(text[start:cut])
            start = cut
            size = before[index] - before[start]
            last_break = None
        size += cost
        if ch in _BREAK_AFTER:
            last_break = index + 1
    parts.append(text[start:])
    return parts


def editable_parts(text, max_bytes, codec="utf-8"):
    """Like split_text, but no part after the first starts with a line break (a textarea
    would lose or gain it), so such breaks move to the end of the part before."""
    parts = split_text(text, max_bytes, codec)
    for i in range(1, len(parts)):
        stripped = parts[i].lstrip("\n")
        if stripped:
            parts[i - 1] += parts[i][: len(parts[i]) - len(stripped)]
            parts[i] = stripped
    return [part for i, part in enumerate(parts) if part or i == 0]


def text_part(text, budget, number):
    """(part text, part number, part count) of ``text`` split for ``budget`` bytes."""
    parts = split_text(text, budget, g.device.codec) if budget else [text or ""]
    number = max(1, min(number, len(parts)))
    return parts[number - 1], number, len(parts)
