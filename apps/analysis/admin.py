"""Admin for prompt templates (versions are shown, never edited) and LLM endpoints (keys are
written, never shown)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.analysis.models import LlmEndpoint, PromptTemplate


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "created_at")
    list_filter = ("name",)
    search_fields = ("name", "body")

    def get_readonly_fields(
        self, request: HttpRequest, obj: PromptTemplate | None = None
    ) -> tuple[str, ...]:
        # A saved version is immutable; new versions come from the strategies file or API.
        return ("name", "version", "body", "created_at") if obj else ()


class LlmEndpointForm(forms.ModelForm):
    """The endpoint form: the key is a password input that is never filled in; left blank it
    keeps the stored key, "remove the key" clears it. The URL is checked by the model's
    ``clean`` (outbound URL policy)."""

    api_key = forms.CharField(
        required=False,
        max_length=512,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted, never shown. Leave blank to keep the stored key.",
    )
    remove_api_key = forms.BooleanField(required=False, help_text="Remove the stored key.")

    class Meta:
        model = LlmEndpoint
        fields = (
            "name",
            "owner",
            "base_url",
            "api_key",
            "remove_api_key",
            "offered_models",
            "text_only_models",
            "prices",
            "timeout_s",
            "is_active",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_key = self.instance.api_key if self.instance.pk else ""
        self.initial["api_key"] = ""  # never sent to the browser

    def clean_api_key(self) -> str:
        """Blank keeps the stored key (or "" with "remove the key")."""
        typed = self.cleaned_data.get("api_key") or ""
        if self.data.get(self.add_prefix("remove_api_key")):
            return ""
        return typed or self._stored_key


@admin.register(LlmEndpoint)
class LlmEndpointAdmin(admin.ModelAdmin):
    """LLM endpoints: operator endpoints (no owner) and users' own; the key is never shown."""

    form = LlmEndpointForm
    list_display = ("name", "owner", "base_url", "key_stored", "is_active", "updated_at")
    list_filter = ("is_active", ("owner", admin.EmptyFieldListFilter))
    search_fields = ("name", "base_url", "owner__username")
    list_select_related = ("owner",)

    @admin.display(boolean=True, description="key")
    def key_stored(self, obj: LlmEndpoint) -> bool:
        """Whether a key is stored."""
        return obj.has_api_key
