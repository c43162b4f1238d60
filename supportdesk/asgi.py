"""ASGI entry point: HTTP through Django, websockets through Channels."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from supportdesk.routing import websocket_urlpatterns  # noqa: E402


class SettingsOriginValidator(OriginValidator):
    """Channels' origin check against ``settings.WEBSOCKET_ALLOWED_ORIGINS``, read on each connect
    (not ALLOWED_HOSTS, which is ``*`` in development and would let any page in)."""

    def __init__(self, application):
        super().__init__(application, [])

    @property
    def allowed_origins(self):
        return settings.WEBSOCKET_ALLOWED_ORIGINS

    @allowed_origins.setter
    def allowed_origins(self, value):  # OriginValidator.__init__ assigns it; the setting wins
        pass


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SettingsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
