from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Shop"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from crm.middleware import idle_clock_start

        user_logged_in.connect(idle_clock_start, dispatch_uid="crm.idle_clock_start")
