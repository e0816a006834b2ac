""":class:`ClioSandbox`: a fake firm (:class:`~.state.ClioFirm`) with its HTTP face (:class:`~.app.ClioApp`)."""

from __future__ import annotations

from functools import cached_property

from .app import ClioApp
from .state import ClioFirm


class ClioSandbox(ClioFirm):
    """A local Clio Manage v4: serve ``wsgi_app`` in-process or on loopback.

    Example::

        sb = ClioSandbox(clock=ManualClock())
        client = httpx.Client(transport=wsgi_transport(sb.wsgi_app), base_url="http://clio.test")
        token = sb.issue_token()["access_token"]
        client.get("/api/v4/contacts.json", headers={"Authorization": f"Bearer {token}"})
    """

    @cached_property
    def wsgi_app(self) -> ClioApp:
        return ClioApp(self)
