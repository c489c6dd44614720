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
import contextlib
import fcntl
import io
import os
import re
import secrets
import shutil
import struct
import time
from base64 import b32encode
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms

__all__ = [
    "ALLOWED", "MAX_EDGE", "VARIANTS", "MediaError", "VariantSpec", "commit_file", "delete", "discard",
    "image_size", "intake", "media_path", "new_media_id", "orphans", "rebuild", "save_original",
    "variant", "variant_mimetype",
]


class MediaError(ValueError):
    """Bad upload; ``.code`` is one of ``CODES`` (the caller maps it to a translated message)."""

    CODES = ("too_large", "too_many_pixels", "unsupported", "corrupt", "mismatch")

    def __init__(self, code):
        if code not in self.CODES:
            raise ValueError(f"unknown media error code {code!r}")
        super().__init__(code)
        self.code = code


ALLOWED = {"JPEG", "PNG", "GIF", "WEBP"}
MAX_EDGE = 2048
ORIGINAL = "original"
ORIGINAL_QUALITY = 88
LOCK_NAME = ".lock"
SOURCE_NAME = ".source.jpg"
SOURCE_QUALITY = 92
QUALITY_FLOOR = 20
WHITE = (255, 255, 255)

_MIME_FORMATS = {
    "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG",
    "image/png": "PNG", "image/x-png": "PNG", "image/apng": "PNG",
    "image/gif": "GIF", "image/webp": "WEBP",
}
# Types that name no format at all: some handsets and browsers send these for any file.
_UNNAMED_TYPES = {"", "application/octet-stream"}

_ID_RE = re.compile(r"[A-Za-z0-9_-]{22,64}")
_TEMP_RE = re.compile(r"(?P<final>\.?[a-z0-9]+\.(?:jpg|webp))\.[0-9a-f]{16}\.tmp")
_VARIANT_FILE_RE = re.compile(r"[a-z]+[0-9]+\.(?:jpg|webp)")

# EXIF orientation -> the transposition that shows the picture upright (as ImageOps.exif_transpose).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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


# --------------------------------------------------------------------------- intake

def intake(data, claimed_type=None, max_bytes=10 * 1024 * 1024, max_pixels=40_000_000):
    """Validate and normalise an upload; return a new, fully loaded RGB image without metadata.

    Raises :class:`MediaError` with code ``too_large`` (more than ``max_bytes``), ``unsupported``
    (not JPEG, PNG, GIF or WebP), ``mismatch`` (content is not ``claimed_type``; ``None``, ``""``
    and ``application/octet-stream`` are not checked), ``too_many_pixels`` (the header announces
    more than ``max_pixels`` or more than Pillow's decompression-bomb limit; checked before
    anything is decoded) or ``corrupt`` (truncated or malformed).

    Only the first frame of an animation is kept. The EXIF orientation is applied, an embedded
    ICC profile is converted to sRGB, transparency is flattened on white and the long edge is
    capped at :data:`MAX_EDGE`; JPEGs are decoded at a reduced DCT scale when that suffices.
    """
    if len(data) > max_bytes:
        raise MediaError("too_large")
    fmt = _sniff(data)
    if fmt is None:
        raise MediaError("unsupported")
    if claimed_type is not None:
        mime = claimed_type.split(";", 1)[0].strip().lower()
        if mime not in _UNNAMED_TYPES and _MIME_FORMATS.get(mime) != fmt:
            raise MediaError("mismatch")
    limit = _pixel_limit(max_pixels)
    try:
        width, height = _header_size(fmt, data)
    except (IndexError, ValueError, struct.error):
        raise MediaError("corrupt") from None
    if width * height > limit:
        raise MediaError("too_many_pixels")
    if not (width and height):
        raise MediaError("corrupt")
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            # Defence in depth: the header parser above and Pillow must agree on the size.
            if im.size[0] * im.size[1] > limit:
                raise MediaError("too_many_pixels")
            return _normalise(im)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError("too_many_pixels") from None
    except MemoryError:
        raise MediaError("too_many_pixels") from None
    except Exception:  # Pillow's plugins raise many kinds of errors on malformed input
        raise MediaError("corrupt") from None


def _pixel_limit(max_pixels):
    # Staying under Pillow's own limit means its DecompressionBombWarning can never fire.
    if Image.MAX_IMAGE_PIXELS:
        return min(max_pixels, Image.MAX_IMAGE_PIXELS)
    return max_pixels


def _sniff(data):
    """The format named by the magic bytes, among the allowed ones, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _header_size(fmt, data):
    """(width, height) from the file header without decoding; where a format may announce several
    sizes before the pixels, the largest area (Pillow may use any of them)."""
    return {"JPEG": _jpeg_size, "PNG": _png_size, "GIF": _gif_size, "WEBP": _webp_size}[fmt](data)


def _largest(sizes):
    if not sizes:
        raise ValueError("no size in header")
    return max(sizes, key=lambda size: size[0] * size[1])


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, 0xD8, 0xD9, *range(0xD0, 0xD8)}


def _jpeg_size(data):
    sizes, i, end = [], 2, len(data)
    while i < end:
        if data[i] != 0xFF:  # Pillow skips junk between segments, so do we
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0x00, 0xFF):
            i += 1
            continue
        i += 2
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xDA:  # start of scan: the pixels follow
            break
        (length,) = struct.unpack_from(">H", data, i)
        if marker in _JPEG_SOF:
            height, width = struct.unpack_from(">HH", data, i + 3)
            sizes.append((width, height))
        i += length
    return _largest(sizes)


def _png_size(data):
    sizes, i = [], 8
    while i + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, i)
        if kind == b"IHDR":
            sizes.append(struct.unpack_from(">II", data, i + 8))
        elif kind in (b"IDAT", b"IEND"):
            break
        i += 12 + length
    return _largest(sizes)


def _gif_size(data):
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    i = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while i < len(data):
        block = data[i]
        if block == 0x21:  # extension: label, then sub-blocks up to an empty one
            i += 2
            while data[i]:
                i += data[i] + 1
            i += 1
        elif block == 0x2C:  # the first frame; Pillow grows the canvas to hold it
            left, top, frame_w, frame_h = struct.unpack_from("<HHHH", data, i + 1)
            return max(width, left + frame_w), max(height, top + frame_h)
        elif block == 0x3B:
            break
        else:
            i += 1
    return width, height


def _webp_size(data):
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    raise ValueError("unknown WebP chunk")


def _capped(size, edge=MAX_EDGE):
    width, height = size
    if max(width, height) <= edge:
        return size
    scale = edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _orientation(im):
    try:
        value = im.getexif().get(0x0112, 1)  # getexif() also reads tiff:Orientation from XMP
        return value if value in _ORIENTATION else 1
    except Exception:  # unreadable EXIF is dropped anyway; show the picture as stored
        return 1


def _normalise(im):
    """The opened upload as a new upright sRGB image, at most MAX_EDGE, without metadata."""
    target = _capped(im.size)
    if target != im.size:
        # JPEG: decode at 1/2, 1/4 or 1/8 scale when that still covers the target (memory, speed).
        im.draft(im.mode, target)
    im.load()
    orientation = _orientation(im)
    icc = im.info.get("icc_profile")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info

    out = im
    if out.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
        out = out.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    elif has_alpha:
        out = out.convert("RGBA")
    elif out.mode not in ("L", "RGB", "CMYK"):
        out = out.convert("RGB")
    if out.size != target:
        out = out.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)

    alpha = out.getchannel("A") if out.mode == "RGBA" else None
    out = _to_srgb(out, icc)
    if alpha is not None:
        flat = Image.new("RGB", out.size, WHITE)
        flat.paste(out, (0, 0), alpha)
        out = flat
    if orientation != 1:
        out = out.transpose(_ORIENTATION[orientation])
    if out is im:
        out = im.copy()
    out.info = {}
    return out


def _to_srgb(im, icc):
    """``im`` (L, RGB, RGBA or CMYK) as RGB, through its ICC profile when it has a usable one."""
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            space = source.profile.xcolor_space.strip()
            base = {"RGB": ("RGB", "RGBA"), "GRAY": ("L",), "CMYK": ("CMYK",)}.get(space, ())
            if im.mode in base:
                if im.mode == "RGBA":
                    im = im.convert("RGB")
                srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
                return ImageCms.profileToProfile(im, source, srgb, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile is ignored: the pixels are taken as sRGB
    return im if im.mode == "RGB" else im.convert("RGB")


# --------------------------------------------------------------------------- files

def new_media_id():
    """A fresh random id: 26 characters of lowercase base32 (128 bits), safe in URLs and on
    case-insensitive file systems; never derived from anything the uploader sent."""
    return b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


def media_path(media_dir, media_id, variant="original", webp=False):
    """Where a media file lives: ``media_dir/<id[:2]>/<id>/<variant>.jpg`` (``.webp`` with
    ``webp=True``, p* variants only). Raises ValueError for a malformed id (so ids taken from
    URLs cannot climb out of ``media_dir``) or an unknown variant."""
    if not isinstance(media_id, str) or not _ID_RE.fullmatch(media_id):
        raise ValueError(f"malformed media id {media_id!r}")
    _check_variant(variant, webp)
    return Path(media_dir) / media_id[:2] / media_id / f"{variant}.{'webp' if webp else 'jpg'}"


def _check_variant(name, webp):
    if name != ORIGINAL and name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}")
    if webp and (name == ORIGINAL or not VARIANTS[name].webp):
        raise ValueError(f"variant {name!r} has no WebP form")


def _temp_name(final):
    return final.with_name(f"{final.name}.{secrets.token_hex(8)}.tmp")


def _final_of(temp_path):
    temp_path = Path(temp_path)
    match = _TEMP_RE.fullmatch(temp_path.name)
    if not match:
        raise ValueError(f"not a temporary media file: {temp_path}")
    return temp_path.with_name(match["final"])


def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(temp, write):
    """Create ``temp``, fill it with ``write(file)`` and flush it to disk; remove it on failure."""
    try:
        with open(temp, "xb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def save_original(image, media_dir, media_id):
    """Write ``image`` as the original (JPEG quality 88, optimised, no metadata) under a temporary
    name in its final folder and return that temporary path. Then commit the database row and
    call :func:`commit_file`, or :func:`discard` if the row could not be written."""
    final = media_path(media_dir, media_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(final)
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    _write_new(temp, lambda file: _save_jpeg(rgb, file, ORIGINAL_QUALITY))
    return temp


def commit_file(temp_path):
    """Atomically give a temporary file from :func:`save_original` its final name; return it."""
    final = _final_of(temp_path)
    os.replace(temp_path, final)
    _fsync_dir(final.parent)
    _fsync_dir(final.parent.parent)
    return final


def discard(temp_path):
    """Remove a temporary file from :func:`save_original` (and its folder, if now empty)."""
    temp_path = Path(temp_path)
    _final_of(temp_path)  # refuses anything but a temporary file
    temp_path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        temp_path.parent.rmdir()


def delete(media_dir, media_id):
    """Remove a media folder with its original and variants (after its row is gone)."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(media_path(media_dir, media_id).parent)


def image_size(path):
    """(width, height) of a stored file, read from its header only (for ``<img>`` attributes:
    m* variants may be narrower than their nominal width to fit their byte budget)."""
    with Image.open(path) as im:
        return im.size


def orphans(media_dir, known_ids, min_age=3600.0):
    """Paths a cleanup command may delete: folders of ids not in ``known_ids`` and leftover
    temporary files in known folders, untouched for ``min_age`` seconds (so uploads and
    variants being written right now are left alone).

    Only names this module creates are considered, so a misconfigured ``media_dir`` never
    offers anything else. A temporary original of a known id whose final file is missing (a
    crash between the row's commit and :func:`commit_file`) is not listed: it is the only copy.
    """
    media_dir = Path(media_dir)
    if not media_dir.is_dir():
        return []
    known, now, found = set(known_ids), time.time(), []
    for prefix in sorted(media_dir.iterdir()):
        if len(prefix.name) != 2 or prefix.is_symlink() or not prefix.is_dir():
            continue
        for folder in sorted(prefix.iterdir()):
            if (not _ID_RE.fullmatch(folder.name) or folder.name[:2] != prefix.name
                    or folder.is_symlink() or not folder.is_dir()):
                continue
            if folder.name not in known:
                if now - _newest_mtime(folder) >= min_age:
                    found.append(folder)
                continue
            for entry in sorted(folder.iterdir()):
                match = _TEMP_RE.fullmatch(entry.name)
                if not match or now - _mtime(entry) < min_age:
                    continue
                if match["final"] == f"{ORIGINAL}.jpg" and not (folder / match["final"]).exists():
                    continue
                found.append(entry)
    return found


def _mtime(path):
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return time.time()


def _newest_mtime(folder):
    try:
        return max([_mtime(folder), *(_mtime(entry) for entry in folder.iterdir())])
    except FileNotFoundError:  # removed meanwhile
        return time.time()


# --------------------------------------------------------------------------- variants

def variant_mimetype(name, webp=False):
    """The Content-Type of a variant (or of ``"original"``)."""
    _check_variant(name, webp)
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


def _save_jpeg(im, file, quality, progressive=False):
    # Explicit empty metadata: Pillow's JPEG writer copies a comment from im.info by default.
    im.save(file, "JPEG", quality=quality, optimize=True, progressive=progressive,
            exif=b"", icc_profile=None, comment=b"", xmp=None)


def _encode_jpeg(im, quality, progressive=False):
    buffer = io.BytesIO()
    _save_jpeg(im, buffer, quality, progressive)
    return buffer.getvalue()
