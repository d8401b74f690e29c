"""What the browser tests share: where Chromium is, and a page whose browser holds a passkey authenticator."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.async_api import Browser, Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()


async def with_authenticator(browser: Browser) -> Page:
    """A page whose browser has a platform passkey authenticator that verifies its user (a fingerprint)."""
    page = await browser.new_page()
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return page
