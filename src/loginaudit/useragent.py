"""What a login's user agent says (browser, OS, device class), by the ua-parser rules; shared by the
vendors that show it (SSOJet's login logs, Okta's client.userAgent)."""

from __future__ import annotations

from functools import lru_cache

from user_agents import parse as parse_user_agent


@lru_cache(maxsize=4096)
def describe(user_agent: str) -> tuple[str, str, str]:
    """(browser family, OS family, device class); ua-parser's "Other" is unknown (""), as is the
    class of an agent that is neither bot, tablet, phone nor PC."""
    ua = parse_user_agent(user_agent)
    device = ("Bot" if ua.is_bot else "Tablet" if ua.is_tablet else "Mobile" if ua.is_mobile
              else "Desktop" if ua.is_pc else "")
    browser, os_name = (("" if v == "Other" else str(v)) for v in (ua.browser.family, ua.os.family))
    return browser, os_name, device


# One value of `describe` each, of a stored (possibly missing) agent: what a row document derives from
# the user_agent column (storage/rendered.py's Derived; SQLite calls them per row, so each is cached by
# its argument: a hit is one C call, where going through `describe` was two more Python frames).
@lru_cache(maxsize=4096)
def browser_of(user_agent: str | None) -> str:
    return describe(user_agent or "")[0]


@lru_cache(maxsize=4096)
def os_of(user_agent: str | None) -> str:
    return describe(user_agent or "")[1]


@lru_cache(maxsize=4096)
def device_of(user_agent: str | None) -> str:
    return describe(user_agent or "")[2]
