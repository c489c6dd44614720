"""Media files on disk: ids, paths, writing an original safely, deleting, finding orphans."""
import contextlib
import io
import os
import re
import secrets
import shutil
import time
from base64 import b32encode
from pathlib import Path

from PIL import Image

from .specs import ORIGINAL, check_variant

ORIGINAL_QUALITY = 88
_ID_RE = re.compile(r"[A-Za-z0-9_-]{22,64}")
_TEMP_RE = re.compile(r"(?P<final>\.?[a-z0-9]+\.(?:jpg|webp))\.[0-9a-f]{16}\.tmp")
_VARIANT_FILE_RE = re.compile(r"[a-z]+[0-9]+\.(?:jpg|webp)")


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
    check_variant(variant, webp)
    return Path(media_dir) / media_id[:2] / media_id / f"{variant}.{'webp' if webp else 'jpg'}"


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


def _save_jpeg(im, file, quality, progressive=False):
    # Explicit empty metadata: Pillow's JPEG writer copies a comment from im.info by default.
    im.save(file, "JPEG", quality=quality, optimize=True, progressive=progressive,
            exif=b"", icc_profile=None, comment=b"", xmp=None)


def _encode_jpeg(im, quality, progressive=False):
    buffer = io.BytesIO()
    _save_jpeg(im, buffer, quality, progressive)
    return buffer.getvalue()
