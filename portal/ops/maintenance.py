"""Periodic clean-up: ``portal maintenance`` (run it from cron, e.g. every 15 minutes).

Each task deletes what has outlived its use and says how many rows went. Pages do some of
this on the way (the footprints page purges its owner's old footprints, a new handset
session forgets idle ones); this command does it for everyone, so rows of members who
never come back do not stay forever.
"""
import datetime

from flask import current_app

from ..db import database, utcnow
from ..models import Footprint, Login, LoginAttempt, PasswordReset, SiteSetting, UrlSession
from ..web.sessions import IDLE

RESET_KEPT = datetime.timedelta(days=1)  # used or expired reset links are kept this long


def run(now=None):
    """Run every task inside the app context; returns {task: rows deleted}."""
    now = now or utcnow()
    config = current_app.config
    retention = SiteSetting.get_int("footprint_retention_days", config["FOOTPRINT_RETENTION_DAYS"])
    done = {}
    with database.atomic():
        done["footprints older than the retention"] = Footprint.purge(retention, now=now)
    done["idle handset sessions"] = UrlSession.purge(now - IDLE)
    done["ended logins"] = Login.purge(now)
    done["old failed logins"] = LoginAttempt.purge(now - datetime.timedelta(seconds=config["LOGIN_WINDOW_SECONDS"]))
    done["used or expired reset links"] = (PasswordReset.delete()
                                           .where(PasswordReset.expires_at < now - RESET_KEPT).execute())
    return done
