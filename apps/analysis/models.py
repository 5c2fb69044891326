"""Prompt templates: Jinja2 bodies under a name, each saved version immutable."""

from django.core.exceptions import ValidationError
from django.db import models


class PromptTemplate(models.Model):
    """One version of a named Jinja2 prompt template; editing means saving the next version."""

    name = models.SlugField(max_length=64)
    version = models.PositiveIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="prompt_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def save(self, *args: object, **kwargs: object) -> None:
        # Immutability is a data invariant, so it is enforced here rather than in a service.
        if self.pk is not None:
            raise ValidationError("A saved prompt template version is immutable.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]
