from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "vendorportal.accounts"
    verbose_name = "Accounts"
