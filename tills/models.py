"""The shop's tills (Square, Shopify): connections, raw deliveries, the purchases they carry."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from customers.models import Customer
from touchpoints.models import Touchpoint


class Vendor(models.TextChoices):
    SQUARE = "square", "Square"
    SHOPIFY = "shopify", "Shopify"
    API = "api", "API"


class TillConnection(models.Model):
    """One connected till: the secret its webhooks are signed with. One per vendor."""

    vendor = models.CharField(max_length=10, choices=Vendor.choices, unique=True)
    # Square: the subscription's signature key; Shopify: the app's client secret. Never shown again.
    secret = models.CharField(max_length=200)
    # Square signs the notification URL too: the URL exactly as pasted into Square.
    notification_url = models.URLField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.get_vendor_display()


class TillDelivery(models.Model):
    """One webhook request as received, stored before anything is done with it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (not a purchase or refund)"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Could not be processed"

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    # Square's event_id, Shopify's X-Shopify-Event-Id; "" when a refused request had none.
    event_id = models.CharField(max_length=100, blank=True)
    event_type = models.CharField(max_length=60, blank=True)
    body = models.TextField(blank=True)
    headers = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Why it was refused or failed, or what processing did ("purchase 12 on Ann Smith").
    outcome = models.CharField(max_length=300, blank=True)
    http_status = models.PositiveSmallIntegerField(default=200)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            # A repeated event is a no-op: refused requests are kept apart (a forger may reuse an id).
            models.UniqueConstraint(
                fields=["vendor", "event_id"],
                condition=~Q(event_id="") & ~Q(status="refused"),
                name="till_delivery_event_unique",
            ),
        ]
        indexes = [
            # The sweep: pending deliveries, oldest first.
            models.Index(fields=["received_at"], condition=Q(status="pending"), name="till_delivery_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} {self.event_type or 'delivery'} {self.event_id}"


class TillPurchase(models.Model):
    """A purchase from a till or the API, by its external id; parked (no customer) until someone attaches it."""

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    external_id = models.CharField(max_length=100)
    touchpoint = models.OneToOneField(
        Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="till_purchase"
    )
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    products = models.JSONField(default=list)
    happened_at = models.DateTimeField()
    # What the till knew of the buyer, for matching and for "create a customer" from the inbox.
    vendor_customer_id = models.CharField(max_length=100, blank=True)
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_email = models.CharField(max_length=254, blank=True)
    buyer_phone = models.CharField(max_length=40, blank=True)
    refunded_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-happened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "external_id"], name="till_purchase_external_unique"),
        ]
        indexes = [
            models.Index(
                fields=["-happened_at"],
                condition=Q(touchpoint__isnull=True, dismissed_at__isnull=True),
                name="till_purchase_inbox_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} {self.external_id}"

    @property
    def is_parked(self) -> bool:
        return self.touchpoint_id is None


class TillRefund(models.Model):
    """A refund by its vendor id; one that arrives before its purchase waits here for it."""

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    external_id = models.CharField(max_length=100)
    purchase_external_id = models.CharField(max_length=100)
    # None: the whole purchase.
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    refunded_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "external_id"], name="till_refund_external_unique"),
        ]
        indexes = [models.Index(fields=["vendor", "purchase_external_id"], name="till_refund_purchase_idx")]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} refund {self.external_id}"


class VendorCustomerLink(models.Model):
    """A vendor's customer id, remembered on our customer so their next purchase matches at once."""

    vendor = models.CharField(max_length=10, choices=Vendor.choices)
    vendor_customer_id = models.CharField(max_length=100)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="vendor_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vendor", "vendor_customer_id"], name="vendor_customer_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} {self.vendor_customer_id}"
