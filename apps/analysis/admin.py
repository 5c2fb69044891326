"""Admin for prompt templates: versions are shown, never edited."""

from django.contrib import admin
from django.http import HttpRequest

from apps.analysis.models import PromptTemplate


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
