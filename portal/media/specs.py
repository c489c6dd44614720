"""Picture sizes: the original and the variants (thumbnails) made from it, by name."""
from dataclasses import dataclass

ORIGINAL = "original"


@dataclass(frozen=True)
class VariantSpec:
    """One thumbnail size: ``width`` (or the side of a centre-cropped square), an optional byte
    budget (JPEG quality, then size, is lowered until the file fits), and whether WebP is offered."""

    width: int
    square: bool = False
    max_bytes: int | None = None
    webp: bool = False
    quality: int = 85
    progressive: bool = False


# m*: feature phones (baseline JPEG, at most 8 KB); p*: PC and smartphones; a*: avatars.
VARIANTS = {
    "m120": VariantSpec(120, max_bytes=8 * 1024, quality=75),
    "m240": VariantSpec(240, max_bytes=8 * 1024, quality=75),
    "p200": VariantSpec(200, webp=True, progressive=True),
    "p480": VariantSpec(480, webp=True, progressive=True),
    "p1024": VariantSpec(1024, webp=True, progressive=True),
    "a48": VariantSpec(48, square=True, max_bytes=8 * 1024),
    "a96": VariantSpec(96, square=True),
}


def check_variant(name, webp):
    """Raise ValueError for an unknown variant name, or WebP asked of one that has none."""
    if name != ORIGINAL and name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}")
    if webp and (name == ORIGINAL or not VARIANTS[name].webp):
        raise ValueError(f"variant {name!r} has no WebP form")
