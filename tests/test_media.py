"""Image intake and thumbnails (portal.media): every test image is made here with Pillow."""
import hashlib
import io
import multiprocessing
import os
import random
import struct
import threading
import time
import warnings
import zlib

import pytest
from PIL import Image, ImageChops, ImageCms, ImageOps, JpegImagePlugin

from portal import media
from portal.media import VARIANTS, MediaError
from portal.media import variants as media_variants

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
EIGHT_KB = 8 * 1024


# --------------------------------------------------------------------------- helpers

def encode(im, fmt, **params):
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    return buffer.getvalue()


def photo(size, seed=0, grain=0):
    """A photo-like picture: smooth colour blobs, optionally with film grain."""
    rng = random.Random(seed)
    im = Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3)).resize(size, Image.Resampling.BICUBIC)
    if grain:
        noise = Image.merge("RGB", [Image.effect_noise(size, grain) for _ in range(3)])
        im = ImageChops.add(im, noise, offset=-128)
    return im


def quadrants(size=(80, 40)):
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    im = Image.new("RGB", size)
    w, h = size
    for box, colour in (((0, 0, w // 2, h // 2), RED), ((w // 2, 0, w, h // 2), GREEN),
                        ((0, h // 2, w // 2, h), BLUE), ((w // 2, h // 2, w, h), WHITE)):
        im.paste(colour, box)
    return im


def near(actual, expected, tolerance=40):
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def store(media_dir, image):
    """Save ``image`` as a committed original; return its id."""
    media_id = media.new_media_id()
    media.commit_file(media.save_original(image, media_dir, media_id))
    return media_id


def all_variants():
    for name, spec in VARIANTS.items():
        yield name, False
        if spec.webp:
            yield name, True


def swapped_primaries_icc():
    """An RGB profile whose red and green primaries are swapped: its red is sRGB's green."""
    raw = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack_from(">I", raw, 128)
    entries = {bytes(raw[132 + 12 * n:136 + 12 * n]): 132 + 12 * n for n in range(count)}
    r, g = entries[b"rXYZ"], entries[b"gXYZ"]
    raw[r + 4:r + 12], raw[g + 4:g + 12] = raw[g + 4:g + 12], raw[r + 4:r + 12]
    return bytes(raw)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side=20000):
    """A valid 1-bit PNG of side x side pixels, a few dozen KB on disk. Written chunk by chunk:
    Pillow would need side * side bytes of memory to make it."""
    row = b"\0" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row * 1000) for _ in range(side // 1000)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


@pytest.fixture
def media_dir(tmp_path):
    return tmp_path / "media"


# --------------------------------------------------------------------------- intake: refusals

def _truncated_jpeg():
    data = encode(photo((256, 256), grain=30), "JPEG", quality=90)
    return data[: len(data) // 2]


BAD_UPLOADS = [
    ("text", lambda: "ただのテキストです\nplain text\n".encode() * 20, "unsupported"),
    ("pdf", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "unsupported"),
    ("bmp", lambda: encode(photo((32, 32)), "BMP"), "unsupported"),
    ("tiff", lambda: encode(photo((32, 32)), "TIFF"), "unsupported"),
    ("random", lambda: random.Random(7).randbytes(4096), "unsupported"),
    ("empty", lambda: b"", "unsupported"),
    ("truncated-jpeg", _truncated_jpeg, "corrupt"),
    ("truncated-png", lambda: encode(photo((64, 64), grain=30), "PNG")[:600], "corrupt"),
    ("png-signature-only", lambda: b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(200), "corrupt"),
    ("jpeg-soi-then-junk", lambda: b"\xff\xd8\xff" + random.Random(4).randbytes(300), "corrupt"),
]


@pytest.mark.parametrize("make,code", [case[1:] for case in BAD_UPLOADS], ids=[c[0] for c in BAD_UPLOADS])
def test_bad_uploads_are_refused_with_a_code(make, code):
    with pytest.raises(MediaError) as caught:
        media.intake(make())
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("fmt,claimed", [("PNG", "image/jpeg"), ("JPEG", "image/png"), ("GIF", "image/webp"),
                                         ("WEBP", "image/gif"), ("PNG", "application/pdf"), ("JPEG", "text/plain")])
def test_content_must_match_the_claimed_type(fmt, claimed):
    with pytest.raises(MediaError) as caught:
        media.intake(encode(photo((40, 30)), fmt), claimed)
    assert caught.value.code == "mismatch"


@pytest.mark.parametrize("fmt,claimed", [("JPEG", "image/jpeg"), ("JPEG", "image/pjpeg"), ("PNG", "IMAGE/PNG"),
                                         ("GIF", "image/gif"), ("WEBP", "image/webp; q=1"), ("PNG", None),
                                         ("JPEG", "application/octet-stream"), ("GIF", "")])
def test_matching_or_unnamed_types_are_accepted(fmt, claimed):
    out = media.intake(encode(photo((40, 30)), fmt), claimed)
    assert out.size == (40, 30) and out.mode == "RGB"


def test_unsupported_wins_over_mismatch():
    with pytest.raises(MediaError) as caught:
        media.intake(encode(photo((20, 20)), "BMP"), "image/png")
    assert caught.value.code == "unsupported"


def test_too_large_is_checked_first():
    data = encode(photo((64, 64)), "PNG")
    assert media.intake(data, max_bytes=len(data)).size == (64, 64)
    with pytest.raises(MediaError) as caught:
        media.intake(data, max_bytes=len(data) - 1)
    assert caught.value.code == "too_large"
    with pytest.raises(MediaError) as caught:
        media.intake(b"\0" * (10 * 1024 * 1024 + 1))  # the default limit, before any sniffing
    assert caught.value.code == "too_large"


def test_error_codes_are_closed():
    with pytest.raises(ValueError):
        MediaError("something_else")


# --------------------------------------------------------------------------- intake: bombs

def _patched_png():
    data = bytearray(encode(photo((16, 16)), "PNG"))
    struct.pack_into(">II", data, 16, 50000, 50000)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _patched_jpeg():
    data = bytearray(encode(photo((16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 30000, 30000)
    return bytes(data)


def _patched_gif_screen():
    data = bytearray(encode(photo((16, 16)), "GIF"))
    struct.pack_into("<HH", data, 6, 65000, 65000)
    return bytes(data)


def _patched_gif_frame():
    """A 16x16 screen whose first frame claims 20000x20000 (Pillow would grow the canvas)."""
    data = bytearray(encode(photo((16, 16)), "GIF"))
    descriptor = data.index(b"\x2c\x00\x00\x00\x00\x10\x00\x10\x00")
    struct.pack_into("<HH", data, descriptor + 5, 20000, 20000)
    return bytes(data)


def _patched_webp_lossy():
    data = bytearray(encode(photo((16, 16)), "WEBP", quality=80))
    assert data[12:16] == b"VP8 "
    struct.pack_into("<HH", data, 26, 16383, 16383)
    return bytes(data)


def _patched_webp_extended():
    data = bytearray(encode(photo((16, 16)), "WEBP", exif=b"Exif\0\0MM\0*\0\0\0\x08\0\0"))
    assert data[12:16] == b"VP8X"
    data[24:30] = (30000 - 1).to_bytes(3, "little") * 2
    return bytes(data)


BOMBS = [("png-20000-1bit", png_bomb), ("png-header", _patched_png), ("jpeg-header", _patched_jpeg),
         ("gif-screen", _patched_gif_screen), ("gif-frame", _patched_gif_frame),
         ("webp-vp8", _patched_webp_lossy), ("webp-vp8x", _patched_webp_extended)]


@pytest.mark.parametrize("max_pixels", [40_000_000, 10**12])
@pytest.mark.parametrize("make", [b[1] for b in BOMBS], ids=[b[0] for b in BOMBS])
def test_decompression_bombs_are_refused_from_the_header(make, max_pixels, monkeypatch):
    data = make()
    assert len(data) < 200_000

    def no_decoding(*args, **kwargs):
        raise AssertionError("Pillow opened a bomb")

    monkeypatch.setattr(Image, "open", no_decoding)
    # Pillow's own limit still applies when max_pixels is above it, and nothing is warned.
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        with pytest.raises(MediaError) as caught:
            media.intake(data, max_pixels=max_pixels)
    assert caught.value.code == "too_many_pixels"
    assert caught_warnings == []


def test_the_png_bomb_is_a_real_image(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with Image.open(io.BytesIO(png_bomb())) as im:  # header only: not loaded
        assert im.size == (20000, 20000) and im.mode == "1"


def test_max_pixels_is_inclusive():
    data = encode(photo((200, 200)), "PNG")
    assert media.intake(data, max_pixels=40_000).size == (200, 200)
    with pytest.raises(MediaError) as caught:
        media.intake(data, max_pixels=39_999)
    assert caught.value.code == "too_many_pixels"


# --------------------------------------------------------------------------- intake: normalising

@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "MPO"])
def test_result_is_a_new_rgb_image_without_metadata(fmt):
    params = {"save_all": True, "append_images": [photo((50, 40), seed=1)]} if fmt == "MPO" else {}
    out = media.intake(encode(photo((50, 40)), fmt, **params))
    assert out.mode == "RGB" and out.size == (50, 40)
    assert out.info == {} and len(out.getexif()) == 0
    assert out.getpixel((25, 20))  # loaded, no file behind it
    assert getattr(out, "fp", None) is None


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_exif_orientation_is_applied(orientation):
    source = quadrants()
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(source, "JPEG", quality=95, exif=exif)
    out = media.intake(data)
    with Image.open(io.BytesIO(data)) as stored:
        expected = ImageOps.exif_transpose(stored)
    assert out.size == expected.size
    w, h = out.size
    for x, y in ((w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4)):
        assert near(out.getpixel((x, y)), expected.getpixel((x, y)))


def test_orientation_6_turns_the_picture_clockwise():
    exif = Image.Exif()
    exif[0x0112] = 6
    out = media.intake(encode(quadrants((80, 40)), "JPEG", quality=95, exif=exif))
    # Stored 80 wide: left column (red over blue) becomes the top row, red on the right.
    assert out.size == (40, 80)
    assert near(out.getpixel((30, 10)), RED) and near(out.getpixel((10, 10)), BLUE)
    assert near(out.getpixel((30, 70)), GREEN) and near(out.getpixel((10, 70)), WHITE)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_icc_profile_is_converted_to_srgb(fmt):
    icc = swapped_primaries_icc()
    out = media.intake(encode(Image.new("RGB", (16, 16), RED), fmt, icc_profile=icc, quality=95))
    assert near(out.getpixel((8, 8)), GREEN)
    assert "icc_profile" not in out.info
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    same = media.intake(encode(Image.new("RGB", (16, 16), (200, 120, 40)), fmt, icc_profile=srgb, quality=95))
    assert near(same.getpixel((8, 8)), (200, 120, 40), 8)


def test_a_broken_icc_profile_is_ignored():
    out = media.intake(encode(Image.new("RGB", (16, 16), RED), "PNG", icc_profile=b"not a profile" * 20))
    assert near(out.getpixel((8, 8)), RED, 0)


def test_gif_keeps_the_first_frame_only():
    frames = [Image.new("RGB", (30, 20), colour) for colour in (RED, BLUE, GREEN)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = media.intake(data, "image/gif")
    assert near(out.getpixel((15, 10)), RED, 8)
    webp = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert near(media.intake(webp).getpixel((15, 10)), RED, 8)


@pytest.mark.parametrize("fmt,mode", [("PNG", "RGBA"), ("PNG", "LA"), ("PNG", "P"), ("GIF", "P"),
                                      ("WEBP", "RGBA"), ("PNG", "L")])
def test_transparency_is_flattened_on_white(fmt, mode):
    im = Image.new("RGBA", (40, 20), (0, 0, 0, 255))
    im.paste((0, 0, 0, 0), (0, 0, 20, 20))  # left half fully transparent
    params = {}
    if mode == "LA":
        im = im.convert("LA")
    elif mode == "P":
        im = im.convert("RGB").convert("P")
        im.paste(1, (0, 0, 20, 20))
        im.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 0] * 254)
        params["transparency"] = 1
    elif mode == "L":  # single transparent grey level (tRNS)
        im = Image.new("L", (40, 20), 0)
        im.paste(77, (0, 0, 20, 20))
        params["transparency"] = 77
    out = media.intake(encode(im, fmt, lossless=True, **params) if fmt == "WEBP" else encode(im, fmt, **params))
    assert out.mode == "RGB"
    assert near(out.getpixel((5, 10)), WHITE, 2) and near(out.getpixel((35, 10)), (0, 0, 0), 2)


def test_half_transparent_black_becomes_grey():
    out = media.intake(encode(Image.new("RGBA", (10, 10), (0, 0, 0, 128)), "PNG"))
    assert near(out.getpixel((5, 5)), (127, 127, 127), 2)


def test_sixteen_bit_grey_keeps_its_tones():
    im = Image.new("I;16", (8, 8), 32768)
    out = media.intake(encode(im, "PNG"))
    assert near(out.getpixel((4, 4)), (128, 128, 128), 2)


@pytest.mark.parametrize("size,expected", [((3000, 1000), (2048, 683)), ((1000, 3000), (683, 2048)),
                                           ((2048, 2048), (2048, 2048)), ((2049, 10), (2048, 10)),
                                           ((300, 200), (300, 200))])
def test_long_edge_is_capped_at_2048(size, expected):
    out = media.intake(encode(photo(size), "PNG" if size[0] < 2100 else "JPEG"))
    assert out.size == expected


def test_big_jpegs_are_decoded_at_a_reduced_scale(monkeypatch):
    drafts = []
    real = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = real(self, mode, size)
        drafts.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    out = media.intake(encode(photo((4400, 3000)), "JPEG", quality=85))
    assert drafts == [(2200, 1500)] and out.size == (2048, 1396)


# --------------------------------------------------------------------------- ids and files

def test_ids_are_random_url_safe_and_long():
    ids = {media.new_media_id() for _ in range(1000)}
    assert len(ids) == 1000
    for media_id in ids:
        assert len(media_id) >= 22 and media_id.isascii() and media_id.isalnum() and media_id.islower()


def test_media_path_layout(media_dir):
    media_id = media.new_media_id()
    folder = media_dir / media_id[:2] / media_id
    assert media.media_path(media_dir, media_id) == folder / "original.jpg"
    assert media.media_path(str(media_dir), media_id, "m120") == folder / "m120.jpg"
    assert media.media_path(media_dir, media_id, "p480", webp=True) == folder / "p480.webp"


@pytest.mark.parametrize("media_id", ["../../etc/passwd", "a/b" * 10, "", "short", "x" * 21, "." * 30, 12345])
def test_malformed_ids_are_refused(media_dir, media_id):
    with pytest.raises(ValueError):
        media.media_path(media_dir, media_id)


def test_save_original_then_commit(media_dir):
    media_id = media.new_media_id()
    temp = media.save_original(photo((300, 200)), media_dir, media_id)
    final = media.media_path(media_dir, media_id)
    assert temp.parent == final.parent and temp.name.endswith(".tmp") and temp.exists()
    assert not final.exists()
    with pytest.raises(FileNotFoundError):
        media.variant(media_dir, media_id, "m120")  # no original until committed
    assert media.commit_file(temp) == final
    assert final.exists() and not temp.exists()
    with Image.open(final) as im:
        assert im.format == "JPEG" and im.size == (300, 200)
    assert sorted(os.listdir(final.parent)) == ["original.jpg"]


def test_discard_removes_the_file_and_its_new_folder(media_dir):
    media_id = media.new_media_id()
    temp = media.save_original(photo((30, 20)), media_dir, media_id)
    media.discard(temp)
    assert not temp.exists() and not temp.parent.exists()
    media.discard(temp)  # twice is fine


def test_discard_and_commit_refuse_final_files(media_dir):
    media_id = store(media_dir, photo((30, 20)))
    original = media.media_path(media_dir, media_id)
    with pytest.raises(ValueError):
        media.discard(original)
    with pytest.raises(ValueError):
        media.commit_file(original)
    assert original.exists()


def test_delete_removes_the_folder(media_dir):
    media_id = store(media_dir, photo((300, 200)))
    media.variant(media_dir, media_id, "m120")
    media.delete(media_dir, media_id)
    assert not media.media_path(media_dir, media_id).parent.exists()
    media.delete(media_dir, media_id)


# --------------------------------------------------------------------------- metadata never survives

SECRETS = (b"SecretCam", b"secret-comment", b"secret-xmp", b"Tokyo-Station", b"ICC_PROFILE", b"Exif\0\0")


def _tagged_upload(fmt):
    """A picture carrying EXIF (camera, GPS), an ICC profile, a comment / text and XMP."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"
    exif[0x0112] = 1
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (35.0, 40.0, 52.0)
    gps[0x001C] = "Tokyo-Station"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = photo((640, 480), grain=20)
    if fmt == "JPEG":
        return encode(im, "JPEG", exif=exif, icc_profile=srgb, comment=b"secret-comment", xmp=b"secret-xmp")
    if fmt == "WEBP":
        return encode(im, "WEBP", exif=exif, icc_profile=srgb, xmp=b"secret-xmp")
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Comment", "secret-comment")
    text.add_itxt("XML:com.adobe.xmp", "secret-xmp")
    return encode(im, "PNG", exif=exif, icc_profile=srgb, pnginfo=text)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_no_metadata_in_the_original_or_any_variant(media_dir, fmt):
    data = _tagged_upload(fmt)
    with Image.open(io.BytesIO(data)) as check:  # the upload really carries it all
        assert check.getexif()[0x010F] == "SecretCam" and check.info.get("icc_profile")
    media_id = media.new_media_id()
    final = media.commit_file(media.save_original(media.intake(data), media_dir, media_id))
    paths = [final] + [media.variant(media_dir, media_id, name, webp) for name, webp in all_variants()]
    assert len(paths) == 11
    for path in paths:
        raw = path.read_bytes()
        assert not any(secret in raw for secret in SECRETS), path.name
        with Image.open(path) as im:
            assert len(im.getexif()) == 0, path.name
            assert not {"exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp"} & set(im.info), path.name


# --------------------------------------------------------------------------- variants

def test_variant_sizes_and_formats(media_dir):
    media_id = store(media_dir, photo((2048, 1365)))
    expected = {"m120": (120, 80), "m240": (240, 160), "p200": (200, 133), "p480": (480, 320),
                "p1024": (1024, 682), "a48": (48, 48), "a96": (96, 96)}
    for name, webp in all_variants():
        path = media.variant(media_dir, media_id, name, webp)
        assert path == media.media_path(media_dir, media_id, name, webp)
        with Image.open(path) as im:
            assert im.format == ("WEBP" if webp else "JPEG")
            assert im.size == expected[name] == media.image_size(path)
            im.load()
        assert media.variant_mimetype(name, webp) == ("image/webp" if webp else "image/jpeg")
        if name.startswith("m"):
            with Image.open(path) as im:
                assert not im.info.get("progressive")  # old handsets cannot show progressive JPEG
    assert media.variant_mimetype("original") == "image/jpeg"


def test_avatars_are_centre_crops(media_dir):
    im = Image.new("RGB", (300, 100), RED)
    im.paste(BLUE, (100, 0, 200, 100))  # the centre square is blue
    media_id = store(media_dir, im)
    for name in ("a48", "a96"):
        with Image.open(media.variant(media_dir, media_id, name)) as avatar:
            side = avatar.size[0]
            assert avatar.size == (side, side)
            assert near(avatar.getpixel((2, side // 2)), BLUE) and near(avatar.getpixel((side - 3, 2)), BLUE)


def test_never_upscaled(media_dir):
    media_id = store(media_dir, photo((100, 80)))
    sizes = {name: media.image_size(media.variant(media_dir, media_id, name, webp))
             for name, webp in all_variants()}
    assert sizes == {"m120": (100, 80), "m240": (100, 80), "p200": (100, 80), "p480": (100, 80),
                     "p1024": (100, 80), "a48": (48, 48), "a96": (80, 80)}


def test_variants_are_cached(media_dir, monkeypatch):
    media_id = store(media_dir, photo((400, 300)))
    first = media.variant(media_dir, media_id, "p200")
    mtime = first.stat().st_mtime_ns
    monkeypatch.setattr(media_variants, "_render", lambda *args: pytest.fail("rendered twice"))
    assert media.variant(media_dir, media_id, "p200") == first and first.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("name,webp", [("m999", False), ("original", True), ("m120", True), ("a48", True),
                                       ("", False)])
def test_unknown_variants_are_refused(media_dir, name, webp):
    media_id = store(media_dir, photo((40, 30)))
    with pytest.raises(ValueError):
        media.variant(media_dir, media_id, name, webp)
    if name != "original":
        with pytest.raises(ValueError):
            media.variant_mimetype(name, webp)


def test_missing_original(media_dir):
    media_id = media.new_media_id()
    with pytest.raises(FileNotFoundError):
        media.variant(media_dir, media_id, "m120")
    assert not media_dir.exists()  # nothing was created, not even a lock file


def test_small_variants_decode_big_jpegs_at_a_reduced_scale(media_dir, monkeypatch):
    drafts = []
    real = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = real(self, mode, size)
        drafts.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    media_id = store(media_dir, photo((2048, 1396)))
    for name in ("m120", "a48", "p480"):
        media.variant(media_dir, media_id, name)
    assert drafts == [(256, 175), (256, 175), (1024, 698)]


def test_an_oversized_original_is_decoded_once(media_dir, monkeypatch):
    # An original above the intake cap (stored by other means, e.g. an import) gets a capped
    # source copy the first time; later variants are made from it.
    media_id = media.new_media_id()
    path = media.media_path(media_dir, media_id)
    path.parent.mkdir(parents=True)
    photo((4400, 3000)).save(path, "JPEG", quality=85)
    drafts = []
    real = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = real(self, mode, size)
        drafts.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    sizes = [media.image_size(media.variant(media_dir, media_id, name)) for name in ("p1024", "m120", "a96")]
    assert sizes == [(1024, 698), (120, 82), (96, 96)]
    assert drafts == [(2200, 1500), (2048, 1396), (256, 175), (512, 349)]
    assert _folder_names(media_dir, media_id) == [".lock", ".source.jpg", "a96.jpg", "m120.jpg",
                                                  "original.jpg", "p1024.jpg"]


def test_mobile_variants_fit_8_kb_for_a_noisy_24_megapixel_photo(media_dir):
    upload = encode(photo((6000, 4000), seed=5, grain=60), "JPEG", quality=92)
    media_id = media.new_media_id()
    media.commit_file(media.save_original(media.intake(upload, max_bytes=len(upload)), media_dir, media_id))
    _assert_mobile_budget(media_dir, media_id)


@pytest.mark.parametrize("side", [2048, 240])
def test_mobile_variants_fit_8_kb_for_pure_noise(media_dir, side):
    noise = Image.frombytes("RGB", (side, side), random.Random(9).randbytes(side * side * 3))
    media_id = store(media_dir, noise)
    sizes = _assert_mobile_budget(media_dir, media_id)
    if side == 240:  # noise not averaged by downscaling fits only by shrinking at the floor quality
        assert sizes["m240"][0] < 240


def _assert_mobile_budget(media_dir, media_id):
    sizes = {}
    for name in ("m120", "m240", "a48"):
        path = media.variant(media_dir, media_id, name)
        assert path.stat().st_size <= EIGHT_KB, (name, path.stat().st_size)
        with Image.open(path) as im:
            im.load()
            sizes[name] = im.size
            assert im.size[0] <= VARIANTS[name].width
    return sizes


# --------------------------------------------------------------------------- concurrency

def _folder_names(media_dir, media_id):
    return sorted(os.listdir(media.media_path(media_dir, media_id).parent))


def test_concurrent_threads_make_a_variant_once(media_dir, monkeypatch):
    media_id = store(media_dir, photo((2048, 1365), grain=20))
    real_render, calls = media_variants._render, []

    def slow_render(*args):
        calls.append(args)
        time.sleep(0.2)  # every other thread arrives while the file is being made
        return real_render(*args)

    monkeypatch.setattr(media_variants, "_render", slow_render)
    barrier, results, errors = threading.Barrier(8), [], []

    def request():
        try:
            barrier.wait()
            path = media.variant(media_dir, media_id, "p1024", webp=True)
            results.append((path, path.read_bytes()))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 8 and len(calls) == 1
    final = media.media_path(media_dir, media_id, "p1024", webp=True)
    assert {path for path, _ in results} == {final}
    assert {data for _, data in results} == {final.read_bytes()}
    with Image.open(io.BytesIO(results[0][1])) as im:
        im.load()
    assert _folder_names(media_dir, media_id) == [".lock", "original.jpg", "p1024.webp"]


def _process_request(media_dir, media_id, barrier, queue):
    """One process asking for a variant at the same moment as the others (spawned)."""
    real_render, calls = media_variants._render, []

    def slow_render(*args):
        calls.append(1)
        time.sleep(0.3)
        return real_render(*args)

    media_variants._render = slow_render
    barrier.wait()
    path = media.variant(media_dir, media_id, "m240")
    with open(path, "rb") as file:
        data = file.read()
        inode = os.fstat(file.fileno()).st_ino
    Image.open(io.BytesIO(data)).load()
    queue.put((str(path), hashlib.sha256(data).hexdigest(), inode, len(calls)))


def test_concurrent_processes_make_a_variant_once(media_dir):
    media_id = store(media_dir, photo((2048, 1365), grain=20))
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_process_request, args=(str(media_dir), media_id, barrier, queue))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    answers = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    final = media.media_path(media_dir, media_id, "m240")
    assert {answer[0] for answer in answers} == {str(final)}
    assert {answer[1] for answer in answers} == {hashlib.sha256(final.read_bytes()).hexdigest()}
    assert {answer[2] for answer in answers} == {final.stat().st_ino}
    assert sum(answer[3] for answer in answers) == 1
    assert _folder_names(media_dir, media_id) == [".lock", "m240.jpg", "original.jpg"]


# --------------------------------------------------------------------------- rebuild and orphans

def test_rebuild_regenerates_every_variant(media_dir):
    kept = store(media_dir, photo((600, 400)))
    stale = media.media_path(media_dir, kept, "m120")
    media.variant(media_dir, kept, "m120")
    stale.write_bytes(b"stale")
    retired = stale.with_name("m999.jpg")
    retired.write_bytes(b"a variant no longer defined")
    missing = media.new_media_id()
    calls = []
    assert media.rebuild(media_dir, [kept, missing], progress=lambda done, total: calls.append((done, total))) == 1
    assert calls == [(1, 2), (2, 2)]
    assert not retired.exists()
    with Image.open(stale) as im:
        assert im.size == (120, 80)
    names = _folder_names(media_dir, kept)
    assert names == sorted([".lock", "original.jpg"] + [media.media_path(media_dir, kept, n, w).name
                                                         for n, w in all_variants()])


def test_orphans(media_dir):
    known, unknown, uncommitted = (store(media_dir, photo((40, 30))) for _ in range(3))
    # A crash between the row's commit and commit_file: the temporary original is the only copy.
    in_flight = media.new_media_id()
    media.save_original(photo((40, 30)), media_dir, in_flight)
    media.media_path(media_dir, uncommitted).unlink()
    leftover = media.media_path(media_dir, known, "m120").with_name("m120.jpg.0123456789abcdef.tmp")
    leftover.write_bytes(b"half")
    lost = media.media_path(media_dir, uncommitted).with_name("original.jpg.0123456789abcdef.tmp")
    lost.write_bytes(b"only copy")
    (media_dir / "portal.db").write_bytes(b"not ours")
    (media_dir / "zz").mkdir(exist_ok=True)  # a real shard when an id starts with "zz" (1 in 1024)
    (media_dir / "zz" / "not-a-media-folder").mkdir()

    ids = {known, uncommitted}
    assert media.orphans(media_dir, ids) == []  # everything is fresh: could be in progress
    found = media.orphans(media_dir, ids, min_age=0)
    expected = {media.media_path(media_dir, unknown).parent, media.media_path(media_dir, in_flight).parent,
                leftover}
    assert set(found) == expected and len(found) == 3
    old = time.time() - 7200
    for path in expected:
        os.utime(path, (old, old))
        if path.is_dir():
            for entry in path.iterdir():
                os.utime(entry, (old, old))
    assert set(media.orphans(media_dir, ids)) == expected
    assert media.orphans(media_dir / "nowhere", ids) == []
