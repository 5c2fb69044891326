"""The secret model field of LLM endpoint keys. It is ``apps.common.secret_fields.SecretField``
(the notifications app encrypts its channel URLs with it too); the subclass keeps this import
path, which the analysis migrations name."""

from apps.common.secret_fields import SecretField as CommonSecretField
from apps.common.secret_fields import UndecryptableSecret

__all__ = ["SecretField", "UndecryptableSecret"]


class SecretField(CommonSecretField):
    """An LLM endpoint key encrypted at rest (see ``apps.common.secret_fields``)."""
