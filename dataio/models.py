from django.conf import settings
from django.db import models


class ImportJob(models.Model):
    """One uploaded CSV on its way in: preview, check, import, with progress for the page to poll.

    The decoded text is kept in the row so any worker on any machine can run the job.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded: check the columns"
        CHECKING = "checking", "Checking rows"
        CHECKED = "checked", "Checked: ready to import"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed: nothing was imported"

    class DateOrder(models.TextChoices):
        DMY = "dmy", "Day before month (31/12/1990)"
        MDY = "mdy", "Month before day (12/31/1990)"

    class OnMatch(models.TextChoices):
        UPDATE = "update", "Update the existing customer"
        SKIP = "skip", "Skip the row, keep the existing customer"

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all", "All or nothing: import only if every row is valid"
        VALID_ONLY = "valid", "Import only the valid rows"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    text = models.TextField(help_text="The file, decoded.")
    detected_format = models.CharField(max_length=20, blank=True)
    headers = models.JSONField(default=list)
    # Column index (as a string, JSON keys are strings) -> customer field name, "" to ignore.
    mapping = models.JSONField(default=dict)
    # Empty until the owner says, when the file's dates read either way (04/03/1990).
    date_order = models.CharField(max_length=3, choices=DateOrder.choices, default=DateOrder.DMY, blank=True)
    on_match = models.CharField(max_length=6, choices=OnMatch.choices, default=OnMatch.SKIP)
    mode = models.CharField(max_length=5, choices=Mode.choices, default=Mode.ALL_OR_NOTHING)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    matched_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    # [{"row": 3, "column": "Email", "reason": "..."}], the first few hundred.
    errors = models.JSONField(default=list, blank=True)
    # The checked rows, cleaned ([number, values, tags, consent, has_errors]), so the import
    # does not parse the file a second time; matches with existing customers are redone then.
    parsed_rows = models.JSONField(default=list, blank=True, editable=False)
    failure = models.TextField(blank=True)
    # When its check or import was last queued: a job queued a while ago that has not started was lost
    # with the broker, and import_jobs_requeue (every minute) queues it again.
    queued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING)

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
