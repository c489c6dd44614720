"""Models, one module per domain. ``ALL_MODELS`` lists every table the app owns,
in dependency order; migrations must produce exactly this schema (a test checks)."""
from .footprints import Footprint, FootprintDeletion
from .friends import (Alias, Block, FriendGroup, FriendGroupMember, FriendRequest, Friendship,
                      Introduction)
from .profiles import ProfileField
from .reports import Report
from .users import InviteCode, LoginAttempt, SiteSetting, User

ALL_MODELS = [User, LoginAttempt, InviteCode, SiteSetting, ProfileField, Friendship, FriendRequest,
              FriendGroup, FriendGroupMember, Introduction, Alias, Block, Footprint,
              FootprintDeletion, Report]

__all__ = ["ALL_MODELS", "Alias", "Block", "Footprint", "FootprintDeletion", "FriendGroup",
           "FriendGroupMember", "FriendRequest", "Friendship", "InviteCode", "Introduction",
           "LoginAttempt", "ProfileField", "Report", "SiteSetting", "User"]
