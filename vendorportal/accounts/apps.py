from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "vendorportal.accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from vendorportal.accounts import sessions

        sessions.connect_signals()
