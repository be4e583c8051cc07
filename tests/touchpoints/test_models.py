from touchpoints.models import Touchpoint


def test_kind_labels_read_like_get_display_for_every_choice():
    for kind in Touchpoint.Kind.values:
        for feedback_kind in ["", *Touchpoint.FeedbackKind.values]:
            touchpoint = Touchpoint(kind=kind, feedback_kind=feedback_kind)
            assert touchpoint.kind_label == touchpoint.get_kind_display()
            assert touchpoint.feedback_kind_label == touchpoint.get_feedback_kind_display()
