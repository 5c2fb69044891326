"""Admin for prompt templates: versions are shown, never edited; staff publish names.

Adding a template here saves the next version of the chosen owner's name (blank owner: the
operator's), authored by the staff member; publishing and withdrawing act on every version of a
name (``apps.analysis.services.prompt_template_publish``).
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.analysis.models import PromptTemplate
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
