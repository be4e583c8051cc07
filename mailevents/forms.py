from django import forms

from crm.forms import RejectNullBytesMixin
from mailevents.models import CalendarFeed


class CalendarFeedForm(RejectNullBytesMixin, forms.Form):
    """Make (or remake) the secret URL; only the owner may choose the whole shop."""

    scope = forms.ChoiceField(
        choices=CalendarFeed.Scope.choices,
        widget=forms.RadioSelect,
        initial=CalendarFeed.Scope.MINE,
        label="What the calendar shows",
    )

    def __init__(self, *args, owner: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not owner:
            mine = [(CalendarFeed.Scope.MINE.value, CalendarFeed.Scope.MINE.label)]
            self.fields["scope"].choices = mine  # type: ignore[attr-defined]
