"""A model field for secrets (API keys, notification URLs) encrypted at rest, that never
hands out ciphertext.

``encrypted_fields.fields.EncryptedCharField`` (django-fernet-encrypted-fields) encrypts with
Fernet keys derived from SECRET_KEY (+ SECRET_KEY_FALLBACKS) and SALT_KEY, but when a stored
value cannot be decrypted (either setting changed) it silently returns the ciphertext, which a
caller would then send as the key. ``SecretField`` returns an ``UndecryptableSecret`` instead:
a ``str`` holding the ciphertext, recognisable with ``isinstance``, that is written back
unchanged on save (never encrypted twice) and that callers must refuse to use.
"""

from typing import Any

from cryptography.fernet import InvalidToken
from encrypted_fields.fields import EncryptedCharField


class UndecryptableSecret(str):
    """A stored secret that the current SECRET_KEY / SALT_KEY cannot decrypt (its text is the
    ciphertext, so it must never be sent anywhere)."""

    __slots__ = ()


class SecretField(EncryptedCharField):
    """An encrypted CharField (Fernet, see the module docstring). Empty is stored as NULL and
    read back as ""; a value that does not decrypt is read as an ``UndecryptableSecret``."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        """The plaintext, "" for NULL, or an UndecryptableSecret holding the ciphertext."""
        if value is None or value == "":
            return ""
        try:
            return self.f.decrypt(value.encode("utf-8")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError, TypeError):
            return UndecryptableSecret(value)

    def to_python(self, value: Any) -> Any:
        """Values in Python are plaintext already (forms, serializers, assignments); decrypting
        here as the library does would turn a typed key that happens to be a token into
        another text. An UndecryptableSecret stays one."""
        if value is None:
            return ""
        return value

    def get_prep_value(self, value: Any) -> Any:
        """Encrypt plaintext; an UndecryptableSecret is stored back as the ciphertext it is."""
        if isinstance(value, UndecryptableSecret):
            return str(value)
        return super().get_prep_value(value)
