from django.core.management.base import BaseCommand, CommandError

from indicators.services import outline_import
from projects.outline import OutlineError, read_outline


class Command(BaseCommand):
    help = (
        "Import a plan's outline into the plan tree: a results report in the official heading hierarchy "
        "(壹、 > 一、 > (一) > 1. > (1)) or a GSTP outline data file (.json). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--plan", dest="plan_code", help="Plan code (default: derived from the plan's name)")
        parser.add_argument("--prune", action="store_true", help="Delete nodes that are no longer in the outline")

    def handle(self, *args, path, plan_code, prune, **options):
        progress = self.stdout.write if options["verbosity"] >= 1 else None
        try:
            if progress:
                progress(f"Reading {path}")
            document = read_outline(path)
            result = outline_import(document=document, plan_code=plan_code, prune=prune, progress=progress)
        except OutlineError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.plan.name} ({result.plan.code}): {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {result.agencies_created} agencies added"
                + (f", {result.pruned} pruned" if result.pruned else "")
            )
        )
        self.write_changes(result, prune)

    def write_changes(self, result, prune):
        """The change log: nodes created, renamed, moved, removed, and the agencies added."""
        counts = {change: result.count(change) for change in ("created", "renamed", "moved", "removed", "pruned")}
        self.stdout.write(
            "Plan tree: "
            + ", ".join(f"{count} {change}" for change, count in counts.items() if count or change != "pruned")
        )
        first_import = counts["created"] == len(result.nodes)
        for entry in result.changes:
            if entry.change == "created" and first_import:
                continue  # a new plan: every node is new, the counts say it
            if entry.change == "created":
                self.stdout.write(f"  created  {entry.key} {entry.title}")
            elif entry.change == "renamed":
                self.stdout.write(f"  renamed  {entry.key} {entry.was} → {entry.title}")
            elif entry.change == "moved":
                self.stdout.write(f"  moved    {entry.key} {entry.title}: from {entry.was} to {entry.now}")
            elif entry.change == "pruned":
                self.stdout.write(f"  pruned   {entry.key} {entry.title}")
            else:
                kept = "has reports, kept" if entry.protected else "kept; --prune deletes it"
                self.stdout.write(self.style.WARNING(f"  removed  {entry.key} {entry.title} ({kept})"))
        for name in result.agencies_added:
            self.stdout.write(f"  agency added  {name}")
        if result.absent and not prune:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result.absent)} nodes are no longer in the outline (kept; --prune deletes them): "
                    + ", ".join(result.absent[:10])
                )
            )
