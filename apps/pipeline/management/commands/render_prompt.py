"""manage.py render_prompt TEMPLATE --run RUN_ID — print a template version rendered against a
run's data (bars, indicators, context) without calling a model. TEMPLATE is looked up as the
run's strategy would: among its owner's templates, else the published ones."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.analysis.services import prompt_template_resolve
from apps.common.errors import SibylError
from apps.lineage.models import Run
from apps.pipeline.preview import prompt_preview


class Command(BaseCommand):
    help = (
        "Render a prompt template (NAME for the latest version, NAME@N for version N) with the "
        "data of run RUN_ID and print it; no model is called. The name is looked up among the "
        "templates of the run's strategy's owner (the operator's for an ownerless strategy), "
        "else the published ones."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("template", help="NAME (latest version) or NAME@VERSION")
        parser.add_argument("--run", type=int, required=True, help="the run whose data to use")

    def handle(self, *args: Any, **options: Any) -> None:
        run = Run.objects.select_related("strategy").filter(pk=options["run"]).first()
        if run is None:
            raise CommandError(f"no run with id {options['run']}")
        try:
            template = prompt_template_resolve(
                reference=options["template"], owner=run.strategy.owner
            )
            text = prompt_preview(template=template, run=run)
        except SibylError as error:
            raise CommandError(f"{type(error).__name__}: {error}") from error
        self.stdout.write(text)
