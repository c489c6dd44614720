"""Splitting long text into parts that fit a mobile page."""
import pytest

from portal.web.textparts import _char_bytes, split_text

SAMPLES = [
    "あ" * 5000,
    "日本語の文章です。" * 400 + "絵文字😀も🎌入ります。",
    ("Hello & <b>world</b> \"quotes\" 'single'\n" * 300),
    "～－①ｱｲｳ" * 700 + "\U0001F600" * 50,
    "x",
    "",
]


@pytest.mark.parametrize("codec", ["utf-8", "cp932"])
@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
@pytest.mark.parametrize("budget", [200, 1000, 2800])
def test_parts_round_trip_and_fit(text, codec, budget):
    parts = split_text(text, budget, codec)
    assert "".join(parts) == text
    for part in parts:
        assert sum(_char_bytes(ch, codec) for ch in part) <= budget
        assert part or len(parts) == 1


def test_prefers_sentence_ends():
    text = "これは文です。" * 200
    for part in split_text(text, 1000, "utf-8")[:-1]:
        assert part.endswith("。")


def test_editable_parts_never_start_with_a_line_break():
    from portal.web.textparts import editable_parts

    text = "".join(f"{n:04d}行目。\n\n" for n in range(300))
    parts = editable_parts(text, 500, "utf-8")
    assert "".join(parts) == text and len(parts) > 3
    assert not any(part.startswith("\n") for part in parts[1:])
