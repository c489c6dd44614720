"""Uploads from a form: every file checked before any is stored, files written before their rows,
removed again when the rows are not committed (Flask-side glue over intake and files)."""
from contextlib import contextmanager

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import files as stored_files
from .intake import intake

MEDIA_ERRORS = {
    "too_large": _l("The file is too large (at most %(mb)d MB)."),
    "too_many_pixels": _l("The picture has too many pixels (at most %(mp)d megapixels)."),
    "unsupported": _l("This kind of file is not accepted. Send a JPEG, PNG, GIF or WebP picture."),
    "corrupt": _l("The file is damaged or not a picture."),
    "mismatch": _l("The file is not what its name or type says."),
}


def media_error_message(error):
    """The translated message of a MediaError, with this site's limits."""
    config = current_app.config
    return MEDIA_ERRORS[error.code] % {"mb": config["MAX_UPLOAD_BYTES"] // (1024 * 1024),
                                       "mp": config["MAX_UPLOAD_PIXELS"] // 1_000_000}


def read_pictures(files):
    """Check every uploaded file before anything is stored: [(name, image)] or a MediaError."""
    config = current_app.config
    images = []
    for upload in files:
        data = upload.stream.read(config["MAX_UPLOAD_BYTES"] + 1)
        image = intake(data, upload.mimetype or None, max_bytes=config["MAX_UPLOAD_BYTES"],
                             max_pixels=config["MAX_UPLOAD_PIXELS"])
        images.append((upload.filename, image))
    return images


def store_picture(image):
    """Write the file in place (temporary name, then rename); returns its media id.
    The caller commits its row only then (issue: "the database row is committed only with
    the file in place"): a crash leaves an orphan file (portal clean-media), never a row
    pointing at nothing."""
    media_id = stored_files.new_media_id()
    temp = stored_files.save_original(image, current_app.config["MEDIA_DIR"], media_id)
    stored_files.commit_file(temp)
    return media_id


@contextmanager
def pictures_stored(images):
    """Store checked pictures; yields [(media id, width, height)]. If the block fails (its rows
    were not committed), the files go again."""
    stored = [(store_picture(image), image.width, image.height) for image in images]
    try:
        yield stored
    except BaseException:
        remove_files([media_id for media_id, _w, _h in stored])
        raise


def remove_files(media_ids):
    """Delete stored files (after their rows are gone)."""
    for media_id in media_ids:
        stored_files.delete(current_app.config["MEDIA_DIR"], media_id)
