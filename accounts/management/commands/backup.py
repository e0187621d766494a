from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from gstp.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the database (PostgreSQL: pg_dump's custom format; SQLite: a consistent copy) and the stored "
        "files it refers to into a new folder with a manifest of sizes and SHA-256 checksums; prints its path."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir", type=Path, help="Where the backup's folder is made (default: GSTP_BACKUP_DIR, var/backups)"
        )
        parser.add_argument(
            "--snapshot",
            help="PostgreSQL: dump as of this snapshot, exported by a transaction (pg_export_snapshot()) that stays "
            "open meanwhile",
        )

    def handle(self, *args, output_dir, snapshot, **options):
        try:
            result = backup_create(
                database=connections[DEFAULT_DB_ALIAS].settings_dict,
                storage=storages["default"],
                directory=output_dir or settings.BACKUP_ROOT,
                snapshot=snapshot,
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        for name in manifest["missing_files"]:
            self.stderr.write(f"missing from the storage, not in the backup: {name}")
        database = manifest["database"]
        self.stderr.write(
            f"{database['engine']} database {database['name']} ({database['bytes']} bytes) and "
            f"{manifest['file_count']} files ({manifest['file_bytes']} bytes)"
        )
        self.stdout.write(str(result.path))
