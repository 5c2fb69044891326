"""Input and output serializers of the session API."""

from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers


class LoginInputSerializer(serializers.Serializer[Any]):
    """A username and password, checked against Django's authentication backends."""

    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"})


class CurrentUserSerializer(serializers.ModelSerializer[User]):
    """The signed-in user: id, username and whether they are staff (staff see every
    strategy)."""

    class Meta:
        model = User
        fields = ("id", "username", "is_staff")
        read_only_fields = fields
