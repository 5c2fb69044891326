"""Input and output serializers of the symbols API."""

from typing import Any

from rest_framework import serializers

from apps.symbols.models import Symbol


class SymbolSerializer(serializers.ModelSerializer[Symbol]):
    """A cached instrument: ``conid`` from IBKR (null when declared by hand), ``timezone`` an
    IANA name, ``min_tick`` in the symbol's currency, ``fetched_at`` when IBKR last sent its
    contract details (null: never)."""

    class Meta:
        model = Symbol
        fields = (
            "id",
            "conid",
            "symbol",
            "sec_type",
            "exchange",
            "primary_exchange",
            "currency",
            "description",
            "timezone",
            "trading_calendar",
            "min_tick",
            "fetched_at",
        )
        read_only_fields = fields


class IbkrSearchInputSerializer(serializers.Serializer[Any]):
    """``q``: a ticker or name prefix to search IBKR for."""

    q = serializers.CharField(max_length=64)
