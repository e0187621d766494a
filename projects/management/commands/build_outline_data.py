import json

from django.core.management.base import BaseCommand, CommandError

from projects.outline import OutlineError, read_outline
from projects.outline.document import document_to_data


class Command(BaseCommand):
    help = (
        "Read a report's outline and write it as a GSTP outline data file (names, agencies and figures; "
        "the report's prose is left out unless --with-prose). import_outline and seed_demo load such a file."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--output", required=True)
        parser.add_argument("--with-prose", action="store_true", help="Keep descriptions and indicator notes")

    def handle(self, *args, path, output, with_prose, **options):
        try:
            document = read_outline(path)
        except OutlineError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        data = document_to_data(document, with_prose=with_prose)
        with open(output, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False, indent=1)
            handle.write("\n")
        nodes = sum(1 for _ in document.walk())
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}: {len(document.groups)} groups, {nodes} nodes"))
