"""Admin for prompt templates and LLM endpoints.

Prompt templates: versions are shown, never edited; staff publish names. Adding a template here
saves the next version of the chosen owner's name (blank owner: the operator's), authored by the
staff member; publishing and withdrawing act on every version of a name
(``apps.analysis.services.prompt_template_publish``). LLM endpoints: keys are written, never
shown. LLM answer cache (evaluation runs): stored answers are shown and may be deleted (the next
``use`` run then calls again), never edited.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.analysis.models import LlmAnswerCache, LlmEndpoint, LlmUserBudget, PromptTemplate
from apps.analysis.services import PromptTemplatePublishedNameTakenError, prompt_template_publish


@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "owner", "author", "is_published", "created_at")
    list_filter = ("is_published", "owner", "name")
    search_fields = ("name", "body", "owner__username")
    list_select_related = ("owner", "author")
    actions = ("publish", "withdraw")

    def get_fields(self, request: HttpRequest, obj: PromptTemplate | None = None) -> Any:
        """Adding: owner, name and body (the version number and flag follow the name)."""
        if obj is None:
            return ("owner", "name", "body")
        return ("owner", "name", "version", "author", "is_published", "body", "created_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: PromptTemplate | None = None
    ) -> tuple[str, ...]:
        # A saved version is immutable; new versions come from the API, the strategies file or
        # the add form; publication from the actions.
        if obj is None:
            return ()
        return ("owner", "name", "version", "author", "is_published", "body", "created_at")

    def save_model(
        self, request: HttpRequest, obj: PromptTemplate, form: Any, change: bool
    ) -> None:
        """A new row is the next version of its owner's name, authored by the staff member and
        published when the name is."""
        if not change:
            latest = (
                PromptTemplate.objects.filter(owner=obj.owner_id, name=obj.name)
                .order_by("-version")
                .first()
            )
            obj.version = latest.version + 1 if latest else 1
            obj.is_published = latest.is_published if latest else False
            obj.author_id = request.user.pk
        super().save_model(request, obj, form, change)

    def _publish(self, request: HttpRequest, queryset: QuerySet[PromptTemplate], on: bool) -> None:
        names = {(t.owner_id, t.name): t for t in queryset}
        for template in names.values():
            try:
                prompt_template_publish(template=template, published=on)
            except PromptTemplatePublishedNameTakenError as error:
                self.message_user(request, str(error), messages.ERROR)
        verb = "published" if on else "withdrawn"
        self.message_user(request, f"{len(names)} name(s) {verb}", messages.SUCCESS)

    @admin.action(description="Publish (every version of the name, read-only to all users)")
    def publish(self, request: HttpRequest, queryset: QuerySet[PromptTemplate]) -> None:
        """Publish the names of the selected versions."""
        self._publish(request, queryset, True)

    @admin.action(description="Withdraw publication (every version of the name)")
    def withdraw(self, request: HttpRequest, queryset: QuerySet[PromptTemplate]) -> None:
        """Withdraw the names of the selected versions from publication."""
        self._publish(request, queryset, False)


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
            "knowledge_cutoff",
            "knowledge_cutoffs",
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


@admin.register(LlmAnswerCache)
class LlmAnswerCacheAdmin(admin.ModelAdmin):
    """Stored answers of evaluation runs: read-only; deleting one makes the next ``use`` run
    call the model again (and an ``only`` run fail)."""

    list_display = ("key", "model", "cost_usd", "hits", "last_hit_at", "created_at")
    search_fields = ("key", "model")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(LlmUserBudget)
class LlmUserBudgetAdmin(admin.ModelAdmin):
    """Per-user LLM budgets (USD per UTC day and month, all their strategies together)."""

    list_display = ("user", "daily_usd", "monthly_usd", "updated_at")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)
