"""API clients for Clio Manage and Xero: endpoints, tokens, refresh serialisation, rate budgets.

See ``docs/clients.md``. Every public name is re-exported here; implementation modules are small
and private to this package except where other packages need a piece directly.
"""

from clio_xero.clients._http import PreconditionFailedError, RecordPage
from clio_xero.clients.clio import CONTACT_FIELDS, ClioClient
from clio_xero.clients.endpoints import CLIO_REGIONS, ClioEndpoints, XeroEndpoints
from clio_xero.clients.oauth import (
    AccessTokenSource,
    AuthlibRefresher,
    Refresher,
    RefreshInProgressError,
    StaticTokenSource,
    TokenManager,
    exchange_code,
)
from clio_xero.clients.ratelimit import (
    CLIO_LIMITS,
    XERO_LIMITS,
    XERO_STARTER_LIMITS,
    DynamoRateBudget,
    InMemoryRateBudget,
    RateBudget,
    RateLimits,
    UnlimitedBudget,
)
from clio_xero.clients.tokens import (
    DynamoTokenStore,
    InMemoryTokenStore,
    Provider,
    StaleTokenError,
    StoredToken,
    TokenSet,
    TokenStore,
)
from clio_xero.clients.xero import ElementResult, XeroClient

__all__ = [
    "CLIO_LIMITS",
    "CLIO_REGIONS",
    "CONTACT_FIELDS",
    "XERO_LIMITS",
    "XERO_STARTER_LIMITS",
    "AccessTokenSource",
    "AuthlibRefresher",
    "ClioClient",
    "ClioEndpoints",
    "DynamoRateBudget",
    "DynamoTokenStore",
    "ElementResult",
    "InMemoryRateBudget",
    "InMemoryTokenStore",
    "PreconditionFailedError",
    "Provider",
    "RateBudget",
    "RateLimits",
    "RecordPage",
    "RefreshInProgressError",
    "Refresher",
    "StaleTokenError",
    "StaticTokenSource",
    "StoredToken",
    "TokenManager",
    "TokenSet",
    "TokenStore",
    "UnlimitedBudget",
    "XeroClient",
    "XeroEndpoints",
    "exchange_code",
]
