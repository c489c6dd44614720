"""Models, one module per domain. ``ALL_MODELS`` lists every table the app owns,
in dependency order; migrations must produce exactly this schema (a test checks)."""
from .users import InviteCode, LoginAttempt, SiteSetting, User

ALL_MODELS = [User, LoginAttempt, InviteCode, SiteSetting]

__all__ = ["ALL_MODELS", "InviteCode", "LoginAttempt", "SiteSetting", "User"]
