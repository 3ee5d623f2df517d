"""`Idempotency-Key` on every POST: a retried request is answered, not done twice.

The first successful answer is stored with the key in the same transaction as the change
itself, so either both exist or neither: a client that lost the answer to a network error
retries with the same key and gets the original answer, and nothing happens twice. The
same key with a different request (method, path or body) is refused with 409. A file
upload (multipart) is compared by its fields and its files' names and contents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Status

from vendorportal.api.auth import token_of
from vendorportal.api.errors import ApiRefusal
from vendorportal.api.models import IdempotentAnswer

HEADER = "Idempotency-Key"
MAX_KEY = 255


class _ExactJSONEncoder(DjangoJSONEncoder):
    """Datetimes at full precision. A replay renders the stored body through the same
    response schema, so it must parse back to the very same datetime: DjangoJSONEncoder
    cuts microseconds to milliseconds, and a time with fewer than 1,000 microseconds then
    came back as ".000Z" the first time and without a fraction on the replay."""

    def default(self, o: Any) -> Any:
        if isinstance(o, dt.datetime):
            return o.isoformat()
        return super().default(o)


def _fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, _content(request)):
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _content(request: HttpRequest) -> bytes | str:
    """The body, or for a file upload (multipart, already parsed: its raw body can no
    longer be read) its fields and each file's name and SHA-256. Not the raw bytes: a
    client's retry picks a new multipart boundary, and the same upload must match."""
    if request.content_type != "multipart/form-data":
        return request.body
    files = []
    for name, uploads in sorted(request.FILES.lists()):
        for upload in uploads:
            sha = hashlib.sha256()
            for chunk in upload.chunks():
                sha.update(chunk)
            upload.seek(0)
            files.append([name, upload.name, sha.hexdigest()])
    return json.dumps([sorted(request.POST.lists()), files])


def _replay(answer: IdempotentAnswer, fingerprint: str, key: str) -> Status[Any]:
    if answer.fingerprint != fingerprint:
        raise ApiRefusal(
            409,
            "idempotency_key_reused",
            f"{HEADER} {key!r} was already used for a different request.",
            field=HEADER,
        )
    return Status(answer.status, answer.body)


def idempotent(view: Callable[..., Status[Any]]) -> Callable[..., Status[Any]]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Status[Any]:
        key = request.headers.get(HEADER)
        if key is None:
            return view(request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY:
            raise ApiRefusal(422, "invalid", f"{HEADER}: 1 to {MAX_KEY} characters.", field=HEADER)
        token, fingerprint = token_of(request), _fingerprint(request)
        stored = IdempotentAnswer.objects.filter(token=token, key=key).first()
        if stored is not None:
            return _replay(stored, fingerprint, key)
        try:
            with transaction.atomic():
                # Claim the key before doing the work. The same key sent twice at once:
                # the second insert waits on the unique index until the first request
                # commits (then fails here and replays its answer) or rolls back (then
                # does the work itself). Without the claim both would do the work, and
                # the loser would answer differently (say 409 "already acknowledged")
                # before its transaction was rolled back.
                answer = IdempotentAnswer.objects.create(
                    token=token, key=key, fingerprint=fingerprint, status=0, body={}
                )
                result = view(request, *args, **kwargs)
                answer.status = result.status_code
                answer.body = json.loads(json.dumps(result.value, cls=_ExactJSONEncoder))
                answer.save(update_fields=["status", "body"])
        except IntegrityError:
            # The same key, sent twice at once: the other one won; answer as it did.
            stored = IdempotentAnswer.objects.filter(token=token, key=key).first()
            if stored is None:
                raise
            return _replay(stored, fingerprint, key)
        return result

    return wrapper
