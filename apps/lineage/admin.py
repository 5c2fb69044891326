"""Admin for runs, with steps and artifacts inline, linking to the run's signal and orders."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.lineage.models import Artifact, Run, Step


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    can_delete = False
    fields = (
        "sequence",
        "name",
        "status",
        "duration_ms",
        "error_type",
        "error_message",
        "input",
        "output",
    )
    readonly_fields = fields
    show_change_link = True


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "strategy", "trigger", "as_of", "status", "started_at", "finished_at")
    list_filter = ("status", "trigger", "strategy")
    search_fields = ("strategy__slug", "error_message")
    date_hierarchy = "created_at"
    list_select_related = ("strategy",)
    readonly_fields = (
        "strategy",
        "trigger",
        "llm_cache",
        "as_of",
        "status",
        "created_at",
        "enqueued_at",
        "enqueue_count",
        "started_at",
        "finished_at",
        "error_message",
        "signal_link",
        "order_links",
    )
    inlines = [StepInline]

    @admin.display(description="signal")
    def signal_link(self, run: Run) -> str:
        signal = getattr(run, "signal", None)
        if signal is None:
            return "—"
        url = reverse("admin:signals_signal_change", args=[signal.pk])
        return format_html('<a href="{}">{} ({})</a>', url, signal.action, signal.status)

    @admin.display(description="orders")
    def order_links(self, run: Run) -> str:
        rows = [
            (reverse("admin:orders_order_change", args=[o.pk]), o.client_order_ref, o.status)
            for o in run.orders.all()
        ]
        return format_html_join(", ", '<a href="{}">{}</a> ({})', rows) or "—"


class ArtifactInline(admin.TabularInline):
    model = Artifact
    extra = 0
    fields = ("kind", "file", "content_type", "size_bytes", "sha256")
    readonly_fields = fields


@admin.register(Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ("id", "run", "sequence", "name", "status", "duration_ms", "error_type")
    list_filter = ("name", "status")
    search_fields = ("error_message", "run__strategy__slug")
    list_select_related = ("run", "run__strategy")
    readonly_fields = (
        "run",
        "name",
        "sequence",
        "status",
        "started_at",
        "finished_at",
        "duration_ms",
        "input",
        "output",
        "error_type",
        "error_message",
    )
    inlines = [ArtifactInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Step]:
        return super().get_queryset(request).select_related("run__strategy")
