"""Image intake and thumbnails: pure functions over bytes and a media folder (no Flask, no models).

An upload goes through :func:`intake` (validate, orient, convert to sRGB, drop metadata, cap the
size), then :func:`save_original` writes it under a temporary name; the caller commits its row
and calls :func:`commit_file` (or :func:`discard` on failure), so a crash leaves at worst an
orphan file that :func:`orphans` finds, never a row pointing at nothing.

Layout on disk, one folder per media id, spread over 1,024 prefix folders::

    media_dir/ab/abcdefghijklmnopqrstuvwxyz/original.jpg
                                           /m120.jpg  p480.jpg  p480.webp ...  (cached variants)
                                           /.lock     (kept: serialises variant creation)

Variants are made on first request by :func:`variant` and cached; every file appears through
``os.replace`` of a complete temporary file, so readers never see half a file. An original larger
than MAX_EDGE (one not written by :func:`save_original`) gets a capped ``.source.jpg`` cache the
first time, so it is decoded once, not once per variant.
"""
from .files import commit_file, delete, discard, image_size, media_path, new_media_id, orphans, save_original
from .intake import ALLOWED, MAX_EDGE, MediaError, intake
from .specs import ORIGINAL, VARIANTS, VariantSpec
from .variants import rebuild, variant, variant_mimetype

__all__ = [
    "ALLOWED", "MAX_EDGE", "ORIGINAL", "VARIANTS", "MediaError", "VariantSpec", "commit_file", "delete", "discard",
    "image_size", "intake", "media_path", "new_media_id", "orphans", "rebuild", "save_original",
    "variant", "variant_mimetype",
]
