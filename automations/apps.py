from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "automations"

    def ready(self) -> None:
        from automations.emails import register_renderers
        from automations.models import EmailOptOut, OutboundMessage
        from automations.services import on_touchpoint_logged
        from automations.timeline import MESSAGES, OPT_OUTS, timeline_messages
        from customers.registry import register_card_rows, register_timeline_source
        from touchpoints.signals import touchpoint_logged

        register_renderers()
        touchpoint_logged.connect(on_touchpoint_logged, dispatch_uid="automations.on_touchpoint_logged")
        register_timeline_source(timeline_messages)
        register_card_rows(MESSAGES, OutboundMessage)
        register_card_rows(OPT_OUTS, EmailOptOut)
