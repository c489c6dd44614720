"""Upload intake: validate, orient, convert to sRGB, drop metadata, cap the size (no Flask)."""
import io
import struct

from PIL import Image, ImageCms


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
ORIGINAL_QUALITY = 88
WHITE = (255, 255, 255)

_MIME_FORMATS = {
    "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG",
    "image/png": "PNG", "image/x-png": "PNG", "image/apng": "PNG",
    "image/gif": "GIF", "image/webp": "WEBP",
}
# Types that name no format at all: some handsets and browsers send these for any file.
_UNNAMED_TYPES = {"", "application/octet-stream"}

# EXIF orientation -> the transposition that shows the picture upright (as ImageOps.exif_transpose).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}



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
