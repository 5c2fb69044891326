"""Admin for strategies: run now, activate and deactivate from the list.

Live strategies need the ``strategies.trade_live`` permission (``apps.strategies.live_trading``)
of the staff member saving, activating or running them and of their owner; the permission
itself is granted here too, on the user or group pages. An active strategy keeps within its
owner's limits (``apps.strategies.limits``: active strategies per user, shortest schedule
interval), unless the owner is staff. Saves go through ``strategy_update``, the API's and the
strategies file's save, so the form refuses what they refuse (``strategy_rules_check``).
Run now creates the runs in the strategies app and sends them with the pipeline's
``enqueue_runs``.
"""

import copy
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest

from apps.analysis.models import PromptTemplate
from apps.pipeline.tasks import enqueue_runs
from apps.strategies.lifecycle import (
    LiveTradingNotAllowedError,
    StrategyInvalidError,
    StrategyLimitError,
    strategy_activate,
    strategy_deactivate,
    strategy_rules_check,
    strategy_run_create,
    strategy_update,
)
from apps.strategies.live_trading import live_trading_check
from apps.strategies.models import Strategy


class PromptTemplateChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A template version labelled with its owner and whether its name is published."""

    def label_from_instance(self, obj: Any) -> str:
        """``name vN (owner[, published])``; ``operator`` for an ownerless template."""
        published = ", published" if obj.is_published else ""
        return f"{obj} ({obj.owner or 'operator'}{published})"


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = (
        "slug",
        "name",
        "owner",
        "symbol",
        "bar_size",
        "analyst",
        "schedule_cron",
        "schedule_timezone",
        "next_run_at",
        "trading_mode",
        "is_active",
    )
    list_filter = ("is_active", "trading_mode", "analyst", "bar_size", "owner")
    search_fields = ("slug", "name", "symbol__symbol", "owner__username")
    list_select_related = ("symbol", "owner")
    prepopulated_fields = {"slug": ("name",)}
    # Set by the automatic triggers only (apps.strategies.triggers): who is the system.
    readonly_fields = ("auto_deactivated_at", "auto_deactivation_reason")
    actions = ("run_now", "activate", "deactivate")

    def get_form(
        self, request: HttpRequest, obj: Strategy | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        """The model form, checked as the API and the strategies file check a save
        (``strategy_rules_check``): the strategies-file rules' problems on their fields, a live
        strategy (as saved) on the ``trading_mode`` field when the staff member or the owner
        lacks ``strategies.trade_live``, an active one over its owner's limits on the
        ``schedule_cron`` or ``is_active`` field."""
        base = super().get_form(request, obj, change, **kwargs)
        actor = cast(User, request.user)

        class CheckedForm(base):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                cleaned: dict[str, Any] = super().clean()
                candidate = copy.copy(self.instance)  # the strategy as it would be saved
                construct_instance(self, candidate)
                try:
                    live_trading_check(strategy=candidate, actor=actor)
                except LiveTradingNotAllowedError as error:
                    raise forms.ValidationError({"trading_mode": str(error)}) from error
                if self.errors:
                    return cleaned  # the other rules need every field's value
                try:
                    strategy_rules_check(strategy=candidate, actor=actor, model_rules=False)
                except StrategyInvalidError as error:
                    for field, problems in error.problems.items():
                        self.add_error(field if field in self.fields else None, problems)
                except StrategyLimitError as error:
                    raise forms.ValidationError({error.field: str(error)}) from error
                except ValueError as error:  # croniter's errors: not an expression at all
                    message = f"invalid cron expression: {error}"
                    raise forms.ValidationError({"schedule_cron": message}) from error
                return cleaned

        return CheckedForm

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        """Template versions are labelled with their owner and publication: names are per
        owner, and the model refuses a version the strategy's owner may not use
        (``Strategy.clean``)."""
        if db_field.name == "prompt_template":
            kwargs["queryset"] = PromptTemplate.objects.select_related("owner")
            kwargs["form_class"] = PromptTemplateChoiceField
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Strategy, form: Any, change: bool) -> None:
        """Save through ``strategy_update``, as the API and the strategies file do: when the
        schedule changed, this strategy's next slot is recomputed at once instead of the old
        slot running first; no other strategy is touched.

        Raises PermissionDenied (403) for a strategy the form should have refused (a rule
        broken, live trading not allowed, over its owner's limits): the checks are repeated in
        the save so no other form path can save one.
        """
        model_fields = {field.name for field in Strategy._meta.concrete_fields}
        values = {
            name: form.cleaned_data[name] for name in form.changed_data if name in model_fields
        }
        try:
            strategy_update(strategy=obj, actor=cast(User, request.user), values=values)
        except (StrategyInvalidError, LiveTradingNotAllowedError, StrategyLimitError) as error:
            raise PermissionDenied(str(error)) from error

    @admin.action(description="Run now (as of the current time, on a worker)")
    def run_now(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        """Create a pending manual run per strategy and enqueue it for the ``runs`` queue;
        a live strategy refused by the live-trading rule gets an error message and no run."""
        actor = cast(User, request.user)
        runs = []
        for strategy in queryset:
            try:
                runs.append(strategy_run_create(strategy=strategy, actor=actor))
            except LiveTradingNotAllowedError as error:
                self.message_user(request, f"{strategy.slug} not run: {error}", messages.ERROR)
        if runs:
            enqueue_runs([run.pk for run in runs])  # sent once their rows are committed
        ids = ", ".join(str(run.pk) for run in runs)
        self.message_user(request, f"{len(runs)} run(s) enqueued: {ids}", messages.SUCCESS)

    @admin.action(description="Activate (schedule from the next slot)")
    def activate(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        """Activate each strategy; its next slot is computed as the dispatcher does. A strategy
        refused by the live-trading rule or its owner's limits gets an error message and stays
        as it was."""
        actor, active = cast(User, request.user), 0
        for strategy in queryset:
            try:
                strategy_activate(strategy=strategy, actor=actor)
                active += 1
            except (LiveTradingNotAllowedError, StrategyLimitError) as error:
                self.message_user(
                    request, f"{strategy.slug} not activated: {error}", messages.ERROR
                )
        self.message_user(request, f"{active} strateg(ies) active", messages.SUCCESS)

    @admin.action(description="Deactivate (no further scheduled runs)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        """Deactivate each strategy and clear its next slot."""
        for strategy in queryset:
            strategy_deactivate(strategy=strategy)
        self.message_user(request, f"{queryset.count()} strateg(ies) inactive", messages.SUCCESS)
