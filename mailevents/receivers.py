"""anymail's tracking and inbound signals → rows stored raw (mailevents.services), processed by tasks."""

from typing import Any

from anymail.signals import inbound, tracking
from django.dispatch import receiver

from mailevents.services import inbound_store, mail_event_record, provider_slug


@receiver(tracking, dispatch_uid="mailevents.tracking")
def tracking_received(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    mail_event_record(provider=provider_slug(esp_name), event=event)


@receiver(inbound, dispatch_uid="mailevents.inbound")
def inbound_received(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    if event.message is not None:
        inbound_store(source=provider_slug(esp_name), raw=event.message.as_bytes())
