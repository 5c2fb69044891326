"""REST API routes of the notifications app (mounted under /api/v1/); see ``views``."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from apps.notifications.api.views import (
    NotificationChannelViewSet,
    NotificationDeliveryViewSet,
    NotificationEventsApi,
)

router = SimpleRouter()
router.register(
    "notification-channels", NotificationChannelViewSet, basename="notification-channel"
)
router.register(
    "notification-deliveries", NotificationDeliveryViewSet, basename="notification-delivery"
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("notification-events/", NotificationEventsApi.as_view(), name="notification-events"),
    *router.urls,
]
