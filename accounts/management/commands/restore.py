from pathlib import Path

from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from gstp.backup import BackupError, backup_restore, backup_verify


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup`: check every checksum first, put the stored files back, then replace "
        "the database with the backup's in one transaction. Stop the web servers and workers first."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The backup's folder (var/backups/gstp-backup-...)")
        parser.add_argument("--no-input", action="store_false", dest="interactive", help="Do not ask for confirmation")

    def handle(self, *args, path, interactive, **options):
        database = connections[DEFAULT_DB_ALIAS].settings_dict
        try:
            manifest = backup_verify(path)
            if interactive and not self._confirmed(database, manifest):
                raise CommandError("Nothing restored.")
            result = backup_restore(
                path=path, database=database, storage=storages["default"], before_database=connections.close_all
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for name in result.manifest["missing_files"]:
            self.stderr.write(f"not in the backup (it was missing when the backup was taken): {name}")
        self.stdout.write(
            f"restored the database of {result.manifest['created_at']} and {result.files_written} files "
            f"({result.files_unchanged} were already there)"
        )

    def _confirmed(self, database, manifest) -> bool:
        question = (
            f"This replaces everything in the database {database['NAME']} with the backup taken at "
            f"{manifest['created_at']} ({manifest['file_count']} files). Type 'yes' to go on: "
        )
        try:
            return input(question).strip().lower() == "yes"
        except EOFError:  # no one to answer (stdin closed): --no-input says yes
            return False
