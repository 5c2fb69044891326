"""Notifications API (mounted under /api/v1/):

- ``notification-channels/`` (GET list, POST) and ``notification-channels/{id}/`` (GET, PUT,
  PATCH, DELETE): your channels (staff: everyone's); another user's channel is a 404. The
  URL is write-only: answers carry ``url_masked`` (apprise's privacy form), never the URL.
- ``notification-channels/{id}/test/`` (POST): send a test message now; the answer is the
  delivery, ``sent`` or ``failed`` with the reason.
- ``notification-deliveries/`` (GET): the delivery log of your channels, newest first.
- ``notification-events/`` (GET): the events a channel may subscribe to.
"""

from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.errors import FieldProblemsError
from apps.common.outbound import OutboundUrlRefusedError
from apps.notifications.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
)
from apps.notifications.outbound import ChannelUrlInvalidError
from apps.notifications.services import (
    SUBSCRIBABLE,
    ChannelNameTakenError,
    channel_create,
    channel_events,
    channel_test,
    channel_update,
    channels_of,
    deliveries_of,
)

NOT_FOUND = OpenApiResponse(description="No such channel, or another user's.")
INVALID = OpenApiResponse(
    description='Invalid input: {"<field>": ["<message>"]}; a URL apprise does not understand, '
    "a local service or a refused destination (outbound URL policy) is an error on url."
)


class NotificationChannelSerializer(serializers.ModelSerializer[NotificationChannel]):
    """A channel: ``url_masked`` its apprise URL with the secrets hidden (the URL itself is
    never returned), ``service`` apprise's name for it, ``events`` what it hears about."""

    events = serializers.SerializerMethodField()

    class Meta:
        model = NotificationChannel
        fields = (
            "id",
            "owner",
            "name",
            "url_masked",
            "service",
            "events",
            "is_active",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    def get_events(self, channel: NotificationChannel) -> list[str]:
        """The subscribed events, in catalogue order."""
        return channel_events(channel)


class NotificationChannelInputSerializer(serializers.Serializer[Any]):
    """A channel's settings (POST, PUT, PATCH). ``url``: an apprise URL (e.g.
    ``tgram://bot-token/chat-id``, ``mailtos://user:pass@example.com``, ``json://host/path``),
    write-only, encrypted at rest; ``events``: any of the catalogue (not ``test``)."""

    name = serializers.RegexField(r"^[-a-zA-Z0-9_. ]+$", max_length=64)
    url = serializers.CharField(
        write_only=True, max_length=2000, trim_whitespace=True, style={"input_type": "password"}
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(
            choices=[(e, label) for e, label in NotificationEvent.choices if e in SUBSCRIBABLE]
        ),
        required=False,
    )
    is_active = serializers.BooleanField(required=False)


class NotificationDeliverySerializer(serializers.ModelSerializer[NotificationDelivery]):
    """One notification to one channel: ``status`` queued | sent | failed, ``attempts``,
    ``last_error`` (why the last attempt failed; never the URL's secrets)."""

    channel_name = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = NotificationDelivery
        fields = (
            "id",
            "channel",
            "channel_name",
            "event",
            "title",
            "body",
            "link",
            "status",
            "attempts",
            "last_error",
            "next_attempt_at",
            "sent_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class NotificationEventInfoSerializer(serializers.Serializer[Any]):
    """An event a channel may subscribe to: its value and its label."""

    value = serializers.CharField()
    name = serializers.CharField(help_text="What it is called in the app.")


def _as_field_errors(error: Exception) -> FieldProblemsError:
    field = "name" if isinstance(error, ChannelNameTakenError) else "url"
    if isinstance(error, ValueError):
        field = "events"
    return FieldProblemsError({field: [str(error)]})


CHANNEL_ERRORS = (
    ChannelUrlInvalidError,
    OutboundUrlRefusedError,
    ChannelNameTakenError,
    ValueError,
)


@extend_schema(tags=["notifications"])
class NotificationChannelViewSet(viewsets.GenericViewSet[NotificationChannel]):
    """Your notification channels (staff: everyone's), by name."""

    serializer_class = NotificationChannelSerializer

    def get_queryset(self) -> Any:
        """The requesting user's channels; any other is a 404."""
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return NotificationChannel.objects.none()
        return channels_of(cast(User, self.request.user))

    @extend_schema(responses={200: NotificationChannelSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """A page of channels, by name; ``page`` and ``page_size``."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(NotificationChannelSerializer(page, many=True).data)

    @extend_schema(responses={200: NotificationChannelSerializer, 404: NOT_FOUND})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One channel."""
        return Response(NotificationChannelSerializer(self.get_object()).data)

    @extend_schema(
        request=NotificationChannelInputSerializer,
        responses={201: NotificationChannelSerializer, 400: INVALID},
    )
    def create(self, request: Request) -> Response:
        """Add a channel for yourself: 201 with it; 400 with field errors."""
        serializer = NotificationChannelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            channel = channel_create(
                owner=cast(User, request.user),
                name=data["name"],
                url=data["url"],
                events=data.get("events", []),
            )
        except CHANNEL_ERRORS as error:
            raise _as_field_errors(error) from None
        if data.get("is_active") is False:
            channel_update(channel=channel, is_active=False)
        return Response(NotificationChannelSerializer(channel).data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, partial: bool) -> Response:
        channel = self.get_object()
        serializer = NotificationChannelInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            channel = channel_update(
                channel=channel,
                name=data.get("name"),
                url=data.get("url"),
                events=data.get("events"),
                is_active=data.get("is_active"),
            )
        except CHANNEL_ERRORS as error:
            raise _as_field_errors(error) from None
        return Response(NotificationChannelSerializer(self.get_queryset().get(pk=channel.pk)).data)

    @extend_schema(
        request=NotificationChannelInputSerializer,
        responses={200: NotificationChannelSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def update(self, request: Request, pk: str) -> Response:
        """Replace the settings (``name`` and ``url`` required)."""
        return self._update(request, partial=False)

    @extend_schema(
        request=NotificationChannelInputSerializer,
        responses={200: NotificationChannelSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change some settings; ``events`` replaces the subscriptions."""
        return self._update(request, partial=True)

    @extend_schema(responses={204: None, 404: NOT_FOUND})
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete the channel and its delivery log: 204."""
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: NotificationDeliverySerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        """Send a test message to the channel now (one attempt); the answer is its delivery,
        ``sent`` or ``failed`` with ``last_error``."""
        delivery = channel_test(channel=self.get_object())
        return Response(NotificationDeliverySerializer(delivery).data)


@extend_schema(tags=["notifications"])
class NotificationDeliveryViewSet(viewsets.ReadOnlyModelViewSet[NotificationDelivery]):
    """The delivery log of your channels (staff: every channel's), newest first."""

    serializer_class = NotificationDeliverySerializer

    def get_queryset(self) -> Any:
        """Deliveries to the requesting user's channels; ``?channel=<id>`` narrows it."""
        if getattr(self, "swagger_fake_view", False):
            return NotificationDelivery.objects.none()
        deliveries = deliveries_of(cast(User, self.request.user))
        channel = self.request.query_params.get("channel", "")
        if channel.isdigit():
            deliveries = deliveries.filter(channel_id=int(channel))
        return deliveries


@extend_schema(tags=["notifications"])
class NotificationEventsApi(APIView):
    """The events a channel may subscribe to."""

    @extend_schema(responses={200: NotificationEventInfoSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Every subscribable event: ``[{value, name}]`` in catalogue order."""
        names = dict(NotificationEvent.choices)
        return Response([{"value": event, "name": names[event]} for event in SUBSCRIBABLE])
