"""The base of every error Sibyl raises on purpose; lineage records its class name and text."""


class SibylError(Exception):
    """A domain error with a message meant for the person reading lineage."""
