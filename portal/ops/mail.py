"""Optional e-mail (off unless PORTAL_SMTP_HOST is set): new-message notices and password resets.

Mail is sent in the request with a short timeout; a failure is logged and never breaks
the page (the message or the reset exists either way).
"""
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger(__name__)


def enabled():
    """True when an SMTP server is configured."""
    return bool(current_app.config.get("SMTP_HOST"))


def send(to, subject, body):
    """Send a plain-text mail; returns True when the server accepted it."""
    config = current_app.config
    if not enabled() or not to:
        return False
    mail = EmailMessage()
    mail["From"] = config["SMTP_FROM"]
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(body)
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config.get("SMTP_TLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD", ""))
            smtp.send_message(mail)
        return True
    except (OSError, smtplib.SMTPException):
        log.exception("could not send mail to %s", to)
        return False
