from django.contrib.auth.models import User

from touchpoints.models import Touchpoint


def test_kind_labels_read_like_get_display_for_every_choice():
    for kind in Touchpoint.Kind.values:
        for feedback_kind in ["", *Touchpoint.FeedbackKind.values]:
            touchpoint = Touchpoint(kind=kind, feedback_kind=feedback_kind)
            assert touchpoint.kind_label == touchpoint.get_kind_display()
            assert touchpoint.feedback_kind_label == touchpoint.get_feedback_kind_display()


def test_logged_by_name_is_the_full_name_or_the_username_or_nothing():
    assert (
        Touchpoint(logged_by=User(username="robin", first_name="Robin", last_name="Ash")).logged_by_name == "Robin Ash"
    )
    assert Touchpoint(logged_by=User(username="sam")).logged_by_name == "sam"
    assert Touchpoint().logged_by_name == ""
