"""Trusted (persisted) documents: `{"documentId": "sha256:<hash>"}` instead of a query.

The manifest is the JSON object {hash: document} that graphql-codegen's client preset
writes (`persistedDocuments: true`). With TRUSTED_DOCUMENTS_ONLY on, any other document
is refused, so production servers run only the operations their frontends shipped.
Known documents are parsed and validated once per process (the schema's caches).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

PREFIX = "sha256:"


class DocumentError(ValueError):
    """A documentId that is unknown, or a document that is not trusted."""


@dataclass(frozen=True)
class TrustedDocuments:
    documents: dict[str, str]
    only: bool

    @classmethod
    def load(cls, path: str | None, *, only: bool) -> TrustedDocuments:
        if not path:
            return cls({}, only)
        raw = orjson.loads(Path(path).read_bytes())
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise SystemExit(
                f"{path}: a persisted-documents manifest is a JSON object of hash: document"
            )
        return cls({key.removeprefix(PREFIX): doc for key, doc in raw.items()}, only)

    @property
    def active(self) -> bool:
        return bool(self.documents) or self.only

    def rewrite(self, method: str, body: bytes, query_string: bytes) -> tuple[bytes, bytes]:
        """The request with `documentId` replaced by its document (body, query string)."""
        if method == "GET":
            params = dict(parse_qsl(query_string.decode("latin-1")))
            return body, urlencode(self._resolve(params)).encode()
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return body, query_string  # the GraphQL view answers malformed JSON
        if not isinstance(payload, dict):
            return body, query_string
        return orjson.dumps(self._resolve(payload)), query_string

    def resolve(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A request's payload (HTTP body, or a WebSocket `subscribe`) with `documentId`
        replaced by its document; DocumentError for an unknown id or untrusted document."""
        return self._resolve(dict(payload))

    def _resolve(self, payload: dict[str, Any]) -> dict[str, Any]:
        document_id = payload.pop("documentId", None)
        if document_id is not None:
            key = str(document_id).removeprefix(PREFIX)
            if key not in self.documents:
                raise DocumentError(f"Unknown documentId {document_id!r}.")
            payload["query"] = self.documents[key]
        elif self.only and isinstance(payload.get("query"), str):
            digest = hashlib.sha256(payload["query"].encode()).hexdigest()
            if digest not in self.documents:
                raise DocumentError("This server only runs trusted documents; send a documentId.")
        return payload
