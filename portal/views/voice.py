"""Voice (つぶやき): short posts, replies, likes, the friends' timeline, hiding a friend's voices."""
from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from ..web.limits import limited
from .. import privacy
from ..models import User, Voice, VoiceMute
from ..models.likes import Like, liked_by
from ..models.visibility import FIELD_LEVELS, choices
from ..models.voice import VOICE_MAX, delete_voice, post_voice
from ..web.pagecache import cacheable
from ..web.pagination import KeysetPage
from ..web.rendering import render
from .util import ActionForm, BaseForm, get_user_or_404

bp = Blueprint("voice", __name__)


class ReplyForm(BaseForm):
    body = TextAreaField(_l("What's up?"), validators=[
        InputRequired(message=_l("Please write something.")),
        Length(max=VOICE_MAX, message=_l("At most %(max)d characters.", max=VOICE_MAX))],
        filters=[lambda v: v.strip() if v else v])


class VoiceForm(ReplyForm):
    visibility = SelectField(_l("Who can see it"), choices=choices(FIELD_LEVELS), default="friends")


def timeline_for(user):
    """The voices of the user and their friends (minus hidden friends), newest first, top level only."""
    muted = VoiceMute.select(VoiceMute.muted).where(VoiceMute.user == user.id)
    return Voice.visible_to(user).where(
        (Voice.reply_to.is_null()) & ~Voice.owner.in_(muted)
        & (privacy.friends_feed_filter(user, Voice.owner) | (Voice.owner == user.id)))


@bp.route("/voice/", methods=["GET", "POST"])
@cacheable
@limited("POSTS")
@login_required
def timeline():
    """The friends' voice timeline, with the form to post."""
    form = VoiceForm()
    if form.validate_on_submit():
        post_voice(current_user, form.body.data, form.visibility.data)
        flash(_("Your voice was posted."))
        return redirect(url_for(".timeline"))
    page = KeysetPage(timeline_for(current_user), Voice.id)
    return render("voice/timeline.html", form=form, page=page, action_form=ActionForm(),
                  liked=liked_by("voice", [v.id for v in page.items], current_user),
                  status=400 if form.is_submitted() else 200)


def visible_voice(voice_id):
    voice = (Voice.select(Voice, User).join(User, on=(Voice.owner == User.id))
             .where(Voice.id == voice_id).first())
    if voice is None or not privacy.can_see_item(current_user, voice):
        abort(404)
    return voice


@bp.route("/voice/<int:voice_id>", methods=["GET", "POST"])
@limited("COMMENTS")
def show(voice_id):
    """A voice with its replies; POST replies to it."""
    voice = visible_voice(voice_id)
    form = ReplyForm()
    if request.method == "POST":
        if not current_user.is_authenticated:
            abort(403)
        if form.validate_on_submit():
            # A reply is seen by whoever may see the voice it answers.
            post_voice(current_user, form.body.data, voice.visibility, voice.group_id, reply_to=voice)
            flash(_("Your reply was posted."))
            return redirect(url_for(".show", voice_id=voice.id))
    # Whoever sees the voice sees its replies (privacy.can_see_item), less blocked or suspended writers.
    replies = (Voice.select(Voice, User).join(User, on=(Voice.owner == User.id))
               .where((Voice.reply_to == voice.id) & privacy.visible_users(current_user))
               .order_by(Voice.id))
    page = KeysetPage(replies, Voice.id, per_page=50)
    ids = [voice.id] + [r.id for r in page.items]
    return render("voice/show.html", voice=voice, page=page, form=form, action_form=ActionForm(),
                  liked=liked_by("voice", ids, current_user),
                  status=400 if request.method == "POST" else 200)


@bp.route("/voice/<int:voice_id>/delete", methods=["POST"])
@login_required
def delete(voice_id):
    """Delete one's voice (its replies and likes go with it)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    voice = Voice.get_or_none((Voice.id == voice_id) & (Voice.owner == current_user.id)) or abort(404)
    Like.delete().where((Like.kind == "voice") & (Like.object_id == voice.id)).execute()
    delete_voice(voice)
    flash(_("The voice was deleted."))
    return redirect(url_for(".timeline"))


@bp.route("/u/<login_id>/voice")
def user_voice(login_id):
    """A member's voices."""
    owner = get_user_or_404(login_id)
    if not privacy.can_view_profile(current_user, owner):
        abort(404)
    viewer = current_user if current_user.is_authenticated else None
    query = Voice.visible_to(viewer).where((Voice.owner == owner.id) & Voice.reply_to.is_null())
    page = KeysetPage(query, Voice.id)
    muted = viewer is not None and VoiceMute.select().where(
        (VoiceMute.user == viewer.id) & (VoiceMute.muted == owner.id)).exists()
    return render("voice/user.html", owner=owner, page=page, muted=muted, action_form=ActionForm(),
                  liked=liked_by("voice", [v.id for v in page.items], viewer))


@bp.route("/u/<login_id>/voice/<any(hide, show):action>", methods=["POST"])
@login_required
def mute(login_id, action):
    """Hide (or show again) a friend's voices in my timeline; they are not told."""
    if not ActionForm().validate_on_submit():
        abort(400)
    other = get_user_or_404(login_id)
    if action == "hide":
        VoiceMute.insert(user=current_user.id, muted=other.id).on_conflict_ignore().execute()
        flash(_("Voices of %(name)s are hidden from your timeline.", name=other.nickname))
    else:
        VoiceMute.delete().where((VoiceMute.user == current_user.id) & (VoiceMute.muted == other.id)).execute()
        flash(_("Voices of %(name)s are shown in your timeline again.", name=other.nickname))
    return redirect(url_for(".user_voice", login_id=other.login_id))
