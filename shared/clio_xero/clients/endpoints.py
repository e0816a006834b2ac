"""Where each provider lives: Clio per region (docs/facts-clio.md#oauth), Xero's three hosts (docs/facts-xero.md#oauth).

Both sandboxes serve every path on one base URL, so ``ClioEndpoints(base_url=sandbox.url)`` and
``XeroEndpoints.sandbox(sandbox.url)`` point a client at them without any other change.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLIO_REGIONS", "ClioEndpoints", "XeroEndpoints"]

#: Clio Manage hosts per region. A token only works on its own region's host, and nothing tells
#: us the region, so it is a per-connection setting (docs/facts-clio.md#regions; discovery UNCONFIRMED).
CLIO_REGIONS: dict[str, str] = {
    "us": "https://app.clio.com",
    "ca": "https://ca.app.clio.com",
    "eu": "https://eu.app.clio.com",
    "au": "https://au.app.clio.com",
}


@dataclass(frozen=True)
class ClioEndpoints:
    """One Clio Manage host; OAuth and the API share it."""

    base_url: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @classmethod
    def for_region(cls, region: str) -> ClioEndpoints:
        """``us``, ``ca``, ``eu`` or ``au`` (case-insensitive); ``ValueError`` otherwise."""
        try:
            return cls(CLIO_REGIONS[region.strip().lower()])
        except KeyError:
            known = ", ".join(CLIO_REGIONS)
            raise ValueError(f"unknown Clio region {region!r} (known: {known})") from None

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v4"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/oauth/authorize"

    @property
    def deauthorize_url(self) -> str:
        # UNCONFIRMED in Clio's own text; consistent across public clients (docs/facts-clio.md#oauth).
        return f"{self.base_url}/oauth/deauthorize"


@dataclass(frozen=True)
class XeroEndpoints:
    """Xero's API host, identity host (tokens) and login host (browser consent)."""

    api_url: str = "https://api.xero.com"
    identity_url: str = "https://identity.xero.com"
    login_url: str = "https://login.xero.com/identity"

    def __post_init__(self) -> None:
        for name in ("api_url", "identity_url", "login_url"):
            object.__setattr__(self, name, getattr(self, name).rstrip("/"))

    @classmethod
    def sandbox(cls, base_url: str) -> XeroEndpoints:
        """The Xero sandbox serves ``/connect/*``, ``/connections`` and ``/api.xro/2.0`` on one host."""
        return cls(api_url=base_url, identity_url=base_url, login_url=base_url)

    @property
    def accounting_url(self) -> str:
        return f"{self.api_url}/api.xro/2.0"

    @property
    def connections_url(self) -> str:
        return f"{self.api_url}/connections"

    @property
    def token_url(self) -> str:
        return f"{self.identity_url}/connect/token"

    @property
    def authorize_url(self) -> str:
        return f"{self.login_url}/connect/authorize"

    @property
    def revocation_url(self) -> str:
        return f"{self.identity_url}/connect/revocation"
