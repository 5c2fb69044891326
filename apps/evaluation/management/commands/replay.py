"""manage.py replay SLUG --start DATE --end DATE [--variant k=v,… …] [--llm-cache MODE]
[--max-cost USD [--yes]] [--parallel] [--json F] [--csv F]
manage.py replay [SLUG] --from-backtest ID [--from-variant N] [--variant …] …
manage.py replay --resume ID — re-execute stored runs from the llm step (``apps.evaluation.
replay``): variant 1 is the original (its recorded answers), one more per ``--variant`` (keys
``model``, ``prompt``, ``analyst``, ``endpoint``, ``label``).

The progress bar, report table, ``--json``/``--csv``, ``--parallel`` and the cost check are the
backtest command's (this command extends it); only what is replayed differs.
"""

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from apps.evaluation.management.commands import backtest
from apps.evaluation.models import Backtest, BacktestKind, BacktestVariant
from apps.evaluation.replay import (
    ReplaySpec,
    replay_cost_estimate,
    replay_create,
    replay_endpoint,
)
from apps.evaluation.services import BacktestError
from apps.strategies.models import Strategy


def _endpoint(strategy: Strategy, value: str) -> int:
    """The id of the LLM endpoint named (or numbered) ``value`` that ``strategy``'s owner may
    use (``replay_endpoint``: the operator's, or the owner's own); CommandError otherwise."""
    try:
        return replay_endpoint(strategy, value).pk
    except BacktestError as error:
        raise CommandError(f"endpoint={value!r}: {error}") from error


def replay_variant(strategy: Strategy, text: str, n: int) -> ReplaySpec:
    """``model=…,prompt=3,analyst=openai,endpoint=NAME,label=…`` (every key optional): the
    backtest command's variant keys and ``endpoint`` (an LLM endpoint's name or id)."""
    parts = [part for part in text.split(",") if part]
    keys = [part.partition("=")[0].strip() for part in parts]
    endpoints = [
        p.partition("=")[2].strip() for p, k in zip(parts, keys, strict=True) if k == "endpoint"
    ]
    rest = ",".join(p for p, k in zip(parts, keys, strict=True) if k != "endpoint")
    spec = backtest._variant(strategy, rest, n)
    label = spec.label if "label" in keys else ",".join(parts) or spec.label
    return ReplaySpec(
        label=label,
        llm_model=spec.llm_model,
        prompt_template_id=spec.prompt_template_id,
        analyst=spec.analyst,
        llm_endpoint_id=_endpoint(strategy, endpoints[-1]) if endpoints else None,
    )


class Command(backtest.Command):
    help = (
        "Replay a strategy's stored runs (or a backtest's) from the llm step with other models, "
        "endpoints or prompt versions, beside the original, and summarise them."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--from-backtest", type=int, help="replay the runs of backtest ID (its window)"
        )
        parser.add_argument(
            "--from-variant",
            type=int,
            default=1,
            help="which variant of --from-backtest to replay (default 1)",
        )

    def _backtest(self, options: dict[str, Any]) -> Backtest:
        """The replay to run: ``--resume ID``, or a new one of ``SLUG`` over ``--start`` …
        ``--end``, or of ``--from-backtest``'s variant; CommandError for what cannot be."""
        if options["resume"] is not None:
            found = Backtest.objects.filter(pk=options["resume"], kind=BacktestKind.REPLAY).first()
            if found is None:
                raise CommandError(f"no replay {options['resume']}")
            self._check_cost(replay_cost_estimate(found), options)
            return found
        source_variant = self._source_variant(options)
        strategy = self._strategy(options, source_variant)
        start = backtest._moment(options["start"], end=False) if options["start"] else None
        end = backtest._moment(options["end"], end=True) if options["end"] else None
        variants = [
            replay_variant(strategy, text, n) for n, text in enumerate(options["variant"], 2)
        ]
        try:
            with transaction.atomic():  # refused above --max-cost: nothing is kept
                replay = replay_create(
                    strategy=strategy,
                    start=start,
                    end=end,
                    variants=variants,
                    source_variant=source_variant,
                    llm_cache=options["llm_cache"],
                )
                self._check_cost(replay_cost_estimate(replay), options)
        except (BacktestError, ValidationError) as error:
            raise CommandError(str(error)) from error
        total = replay.variants.values_list("slots_total", flat=True).first()
        self.stdout.write(
            f"replay {replay.pk}: {replay.variants.count()} variant(s) (1: original), "
            f"{total} source run(s), LLM cache {replay.llm_cache}"
        )
        return replay

    def _source_variant(self, options: dict[str, Any]) -> BacktestVariant | None:
        if options["from_backtest"] is None:
            return None
        found = BacktestVariant.objects.filter(
            backtest_id=options["from_backtest"], position=options["from_variant"]
        ).first()
        if found is None:
            raise CommandError(
                f"backtest {options['from_backtest']} has no variant {options['from_variant']}"
            )
        return found

    def _strategy(self, options: dict[str, Any], source: BacktestVariant | None) -> Strategy:
        if source is not None and not options["slug"]:
            return source.backtest.strategy
        if not (options["slug"] and (source or (options["start"] and options["end"]))):
            raise CommandError("give SLUG --start … --end …, --from-backtest ID, or --resume ID")
        strategy = Strategy.objects.filter(slug=options["slug"], backtest_of__isnull=True).first()
        if strategy is None:
            raise CommandError(f"no strategy with slug {options['slug']!r}")
        return strategy
