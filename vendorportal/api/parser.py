"""The API's body parser: strict JSON (core/request_guard.py says what and why)."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest
from ninja.parser import Parser

from vendorportal.core.request_guard import parse_json


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        return cast(dict[str, Any], parse_json(request))
