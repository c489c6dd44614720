"""Language choice: the switch of this session, the user's setting, Accept-Language, the site default."""
from flask import current_app, request, session
from flask_login import current_user

from ..config import LANGUAGES


def select_locale():
    """Flask-Babel locale selector."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    best = request.accept_languages.best_match(LANGUAGES)
    return best or current_app.config["DEFAULT_LANGUAGE"]
