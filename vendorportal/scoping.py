"""Fail-closed vendor scoping (django-scopes), shared by every vendor-visible model.

A model whose manager is a `VendorScopedManager` cannot be queried unless a scope is active:
`scope(vendor=<id>)` filters every query of it (and of its related managers) to that
vendor; `scopes_disabled()` is the explicit internal scope (buyers, services, commands).
A forgotten scope raises `ScopeError` instead of leaking another vendor's rows.

Activate scopes through `vendorportal.purchasing.access`, never ad hoc in views.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.db import models, transaction
from django_scopes import scopes_disabled
from django_scopes.exceptions import ScopeError
from django_scopes.manager import DisabledQuerySet
from django_scopes.state import get_scope

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=models.Model)


class VendorScopedManager(models.Manager[M]):
    """django-scopes' ScopedManager for the one `vendor` dimension, as a named class
    (so type checkers and related managers know it), and stricter: a scope whose vendor
    is None raises instead of silently applying no filter."""

    def __init__(self, path: str = "vendor") -> None:
        super().__init__()
        self.path = path

    def get_queryset(self) -> models.QuerySet[M]:
        current = get_scope()
        if not current.get("_enabled", True):
            return super().get_queryset()
        if "vendor" not in current:
            return DisabledQuerySet(self.model, using=self._db, missing_scopes={"vendor"})
        vendor = current["vendor"]
        if vendor is None:
            raise ScopeError("The vendor scope is None; refusing to query unscoped.")
        if isinstance(vendor, list | tuple | set):
            return super().get_queryset().filter(**{f"{self.path}__in": list(vendor)})
        return super().get_queryset().filter(**{self.path: vendor})

    def all(self) -> models.QuerySet[M]:
        queryset = super().all()
        if isinstance(queryset, DisabledQuerySet):
            queryset.error()
        return queryset


def service(function: Callable[P, R]) -> Callable[P, R]:
    """Mark a write service: one transaction, run in the internal scope.

    Services receive objects their caller was allowed to reach and check their own rules
    (including who may act); inside, they need the whole order graph, so they run
    unscoped.
    """

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with scopes_disabled(), transaction.atomic():
            return function(*args, **kwargs)

    return wrapper
