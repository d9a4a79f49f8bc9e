"""Where a request carries its credentials, for every vendor: the journal redacts exactly these, and
the rate limiter counts per their values."""

from __future__ import annotations

# Authorization (Unleash, Canvas, Ingedata, SSOJet), SEC (QRadar), Cookie (Ingedata's auth-token)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "sec", "cookie", "x-api-key"})
# Canvas also takes its token as ?access_token=
SECRET_PARAMS = frozenset({"access_token", "api_key", "token"})
