from django.apps import AppConfig


class AssistConfig(AppConfig):
    name = "assist"
    verbose_name = "Live assist"

    def ready(self) -> None:
        from assist.live import revocation

        revocation.connect()
