"""Variants (thumbnails): made from the original on first request, cached, rebuilt on demand."""
import contextlib
import fcntl
import io
import os

from PIL import Image

from .files import _VARIANT_FILE_RE, _encode_jpeg, _save_jpeg, _temp_name, _write_new, media_path
from .intake import MAX_EDGE, _capped
from .specs import ORIGINAL, VARIANTS, check_variant

LOCK_NAME = ".lock"
SOURCE_NAME = ".source.jpg"
SOURCE_QUALITY = 92
QUALITY_FLOOR = 20



def variant_mimetype(name, webp=False):
    """The Content-Type of a variant (or of ``"original"``)."""
    check_variant(name, webp)
    return "image/webp" if webp else "image/jpeg"


def variant(media_dir, media_id, name, webp=False):
    """Path of a variant, made from the original on first request and cached on disk.

    Concurrent first requests (threads or processes) make it once: the maker holds an exclusive
    ``flock`` on the media folder's ``.lock`` file (which stays, one per folder) and publishes
    the file by ``os.replace`` of a complete temporary file. Raises FileNotFoundError when the
    original does not exist, ValueError for an unknown name or WebP on a non-p* variant.
    """
    path = media_path(media_dir, media_id, name, webp)
    if path.exists():
        return path
    original = path.with_name(f"{ORIGINAL}.jpg")
    if not original.exists():
        raise FileNotFoundError(original)
    with _folder_lock(path.parent):
        if not path.exists():  # another request may have made it while we waited
            _write_variant(_source(original), path, VARIANTS[name], webp)
    return path


def rebuild(media_dir, media_ids, progress=None):
    """Regenerate every variant (JPEG and WebP forms) of the given ids, replacing the cached
    ones atomically and deleting variant files of names no longer defined; call
    ``progress(done, total)`` after each id. Ids without an original are skipped. Returns how
    many ids were rebuilt. Use it after changing :data:`VARIANTS` or replacing an original."""
    media_ids = list(media_ids)
    total, count = len(media_ids), 0
    for done, media_id in enumerate(media_ids, 1):
        original = media_path(media_dir, media_id)
        if original.exists():
            with _folder_lock(original.parent):
                original.with_name(SOURCE_NAME).unlink(missing_ok=True)
                source, current = _source(original), set()
                for name, spec in VARIANTS.items():
                    for webp in (False, True) if spec.webp else (False,):
                        path = media_path(media_dir, media_id, name, webp)
                        _write_variant(source, path, spec, webp)
                        current.add(path.name)
                for entry in original.parent.iterdir():
                    if _VARIANT_FILE_RE.fullmatch(entry.name) and entry.name not in current:
                        entry.unlink(missing_ok=True)
            count += 1
        if progress is not None:
            progress(done, total)
    return count


@contextlib.contextmanager
def _folder_lock(folder):
    # flock belongs to the open file description, so separate opens exclude each other across
    # threads as well as processes (POSIX fcntl locks would not, within one process).
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_variant(original, path, spec, webp):
    _publish(path, _render(original, spec, webp))


def _publish(path, data):
    temp = _temp_name(path)
    _write_new(temp, lambda file: file.write(data))
    os.replace(temp, path)


def _source(original):
    """The file variants are made from (the caller holds the folder lock): the original when it
    is at most MAX_EDGE, as save_original() writes it; else (an original stored some other way)
    a capped copy made once, so the big file is decoded once rather than for every variant."""
    with Image.open(original) as im:  # reads the header only
        if max(im.size) <= MAX_EDGE:
            return original
        source = original.with_name(SOURCE_NAME)
        if not source.exists():
            target = _capped(im.size)
            im.draft("RGB", target)
            rgb = im.convert("RGB") if im.mode != "RGB" else im
            capped = rgb.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
            capped.info = {}
            buffer = io.BytesIO()
            _save_jpeg(capped, buffer, SOURCE_QUALITY)
            _publish(source, buffer.getvalue())
    return source


def _variant_geometry(size, spec):
    """(output size, source box) of a variant for an original of ``size``; never upscales."""
    width, height = size
    if spec.square:
        side = min(width, height)
        edge = min(spec.width, side)
        left, top = (width - side) / 2, (height - side) / 2
        return (edge, edge), (left, top, left + side, top + side)
    out_w = min(spec.width, width)
    return (out_w, max(1, round(height * out_w / width))), (0, 0, width, height)


def _render(original, spec, webp):
    """The encoded bytes of one variant of the file at ``original``."""
    with Image.open(original) as im:
        full_w, full_h = im.size
        out_size, box = _variant_geometry(im.size, spec)
        # Ask for a decode at least twice the output inside the box: JPEG then decodes at
        # 1/2..1/8 scale, and LANCZOS does the rest with little aliasing.
        wanted = (min(full_w, -(-2 * out_size[0] * full_w // int(box[2] - box[0]))),
                  min(full_h, -(-2 * out_size[1] * full_h // int(box[3] - box[1]))))
        drafted = im.draft("RGB", wanted)
        if drafted:
            scale = full_w / drafted[1][2]
            box = tuple(value / scale for value in box)
        source = im.convert("RGB") if im.mode != "RGB" else im
        source.load()

        def shrink(size):
            small = source.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
            small.info = {}
            return small

        small = shrink(out_size)
        if webp:
            buffer = io.BytesIO()
            small.save(buffer, "WEBP", quality=80, method=4)
            return buffer.getvalue()
        data = _encode_jpeg(small, spec.quality, spec.progressive)
        if spec.max_bytes is None or len(data) <= spec.max_bytes:
            return data
        # Over budget: lower the quality step by step, then shrink at the floor quality.
        for quality in [*range(spec.quality - 10, QUALITY_FLOOR, -10), QUALITY_FLOOR]:
            data = _encode_jpeg(small, quality, spec.progressive)
            if len(data) <= spec.max_bytes:
                return data
        size = out_size
        while len(data) > spec.max_bytes and size != (1, 1):
            size = (max(1, int(size[0] * 0.85)), max(1, int(size[1] * 0.85)))
            data = _encode_jpeg(shrink(size), QUALITY_FLOOR, spec.progressive)
        return data
