"""Daily rollups the dashboard reads instead of scanning touchpoints per request.

Each table is filled by a task (dashboard/tasks.py) one day at a time: recomputing a day
deletes that day's rows and inserts them again, so running it twice changes nothing.
Days are in the shop's time zone.
"""

from django.conf import settings
from django.db import models

from customers.models import Customer


class DailySnapshot(models.Model):
    """The state of all (non-archived) customers as the nightly task found it that day."""

    day = models.DateField(unique=True)
    warm = models.PositiveIntegerField(default=0)
    cooling = models.PositiveIntegerField(default=0)
    cold = models.PositiveIntegerField(default=0)
    prospects = models.PositiveIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0)
    regulars = models.PositiveIntegerField(default=0)
    advocates = models.PositiveIntegerField(default=0)
    buyers = models.PositiveIntegerField(default=0, help_text="Customers with at least one purchase.")
    repeat_buyers = models.PositiveIntegerField(default=0, help_text="Customers with two or more purchases.")
    revenue_total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    revenue_repeat = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # [[customer id, friends referred, of whom bought], ...] best first: a handful of rows.
    top_referrers = models.JSONField(default=list, blank=True)
    # What the day's dashboard lists need, worked out once a night instead of on every request.
    cadences = models.JSONField(default=list, blank=True, help_text="Distinct keep-in-touch cadences in use.")
    drifting_count = models.PositiveIntegerField(default=0)
    drifting_ids = models.JSONField(
        default=list, blank=True, help_text="The closest drifting customers, closest first."
    )
    birthday_count = models.PositiveIntegerField(default=0, help_text="Birthdays in the 14 days from `day`.")
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"Snapshot {self.day}"


class DailyActivity(models.Model):
    """Touchpoints that happened on a day, by kind, staff member and (for feedback) sentiment."""

    day = models.DateField()
    kind = models.CharField(max_length=10)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sentiment = models.SmallIntegerField(null=True, blank=True)
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="dailyactivity_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} x{self.count}"


class DailyFollowUp(models.Model):
    """Follow-ups due on a day and what became of them (refreshed while they can still change)."""

    day = models.DateField(unique=True)
    due = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.done}/{self.due} done"


class DailyMessage(models.Model):
    """Automated messages by day: sent and failed (by when that happened), and unsubscribes."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    day = models.DateField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "outcome"], name="dailymessage_once")]

    def __str__(self) -> str:
        return f"{self.day} {self.outcome} x{self.count}"


class RingSnapshot(models.Model):
    """Who was in which Dunbar ring on a day: the shop's (user empty) and each staff member's own."""

    day = models.DateField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    ring = models.PositiveSmallIntegerField(help_text="5, 15, 50 or 150.")
    rank = models.PositiveSmallIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day", "user"], name="ringsnapshot_day_user_idx")]

    def __str__(self) -> str:
        return f"{self.day} #{self.rank} in {self.ring}"
