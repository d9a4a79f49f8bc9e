"""A URI parser that turns Connexion's deepObject crashes into 400s instead of 500s."""

from __future__ import annotations

from typing import Any

from connexion.exceptions import BadRequestProblem
from connexion.uri_parsing import OpenAPIURIParser


class SafeURIParser(OpenAPIURIParser):  # type: ignore[misc]
    """Stock Connexion 3.3 answers 500 to `page[number][x]=1` and accepts a bare `page=`."""

    def resolve_query(self, query_data: dict[str, Any]) -> dict[str, Any]:
        for key in query_data:
            if "[" not in key and self._is_deep_object_style_param(key):
                raise BadRequestProblem(detail=f"Query parameter '{key}' must use {key}[key]=value form")
        try:
            return super().resolve_query(query_data)  # type: ignore[no-any-return]
        except (KeyError, TypeError, AttributeError):
            raise BadRequestProblem(detail="Malformed deepObject query parameter") from None
