"""Backups on SQLite (the embedded default), and restores refused on a damaged or wrong backup.

The SQLite backups here are of a database file of the test's own holding the evidence files' table (the test
database itself may be in memory, or PostgreSQL): a consistent copy through SQLite's backup API, the files the
copy refers to, and a restore that puts back both. The restore drill on PostgreSQL, under load and into a
new cluster, is in ``test_backup_drill.py``.
"""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.management import CommandError, call_command
from psycopg.conninfo import conninfo_to_dict

from gstp.backup import (
    MANIFEST,
    POSTGRESQL,
    BackupError,
    backup_create,
    backup_restore,
    backup_verify,
    postgres_conninfo,
)
from reviews.models import EvidenceFile

TABLE = EvidenceFile._meta.db_table
COLUMN = EvidenceFile._meta.get_field("content").column


def sqlite_database(path: Path) -> dict:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": {}}


def rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(f'SELECT id, "{COLUMN}" FROM "{TABLE}" ORDER BY id').fetchall()


@pytest.fixture
def source(tmp_path):
    """A SQLite database naming two stored files (and one row without a file), and the storage holding them
    and a file nothing names."""
    storage = FileSystemStorage(location=tmp_path / "media")
    storage.save("evidence/reports/1/aaa", ContentFile(b"%PDF-1.4 first"))
    storage.save("evidence/reports/2/bbb", ContentFile("第二份佐證資料".encode()))
    storage.save("evidence/orphan", ContentFile(b"named by no row"))
    path = tmp_path / "source.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f'CREATE TABLE "{TABLE}" (id INTEGER PRIMARY KEY, "{COLUMN}" TEXT NOT NULL)')
        db.executemany(
            f'INSERT INTO "{TABLE}" VALUES (?, ?)',
            [(1, "evidence/reports/1/aaa"), (2, "evidence/reports/2/bbb"), (3, "")],
        )
    db.close()
    return sqlite_database(path), storage


@pytest.fixture
def backup(source, tmp_path):
    database, storage = source
    return backup_create(database=database, storage=storage, directory=tmp_path / "backups")


def test_sqlite_backup_holds_a_copy_and_the_files_the_copy_names(backup, source):
    manifest = json.loads((backup.path / MANIFEST).read_text(encoding="utf-8"))
    assert manifest == backup.manifest
    assert manifest["database"]["engine"] == "sqlite"
    assert manifest["file_count"] == 2
    assert [entry["name"] for entry in manifest["files"]] == ["evidence/reports/1/aaa", "evidence/reports/2/bbb"]
    assert (backup.path / "files" / "evidence/reports/2/bbb").read_bytes() == "第二份佐證資料".encode()
    assert rows(backup.path / "database.sqlite3") == rows(Path(source[0]["NAME"]))
    assert not list(backup.path.parent.glob("*.partial"))


def test_sqlite_restore_into_a_new_place(backup, tmp_path):
    # given a machine with no database and no files yet
    database = sqlite_database(tmp_path / "new" / "gstp.sqlite3")
    storage = FileSystemStorage(location=tmp_path / "new" / "media")

    # when
    result = backup_restore(path=backup.path, database=database, storage=storage)

    # then
    assert (result.files_written, result.files_unchanged) == (2, 0)
    assert rows(Path(database["NAME"])) == [(1, "evidence/reports/1/aaa"), (2, "evidence/reports/2/bbb"), (3, "")]
    assert storage.open("evidence/reports/1/aaa").read() == b"%PDF-1.4 first"
    assert not storage.exists("evidence/orphan")


def test_sqlite_restore_over_a_changed_database(backup, source):
    database, storage = source
    with sqlite3.connect(database["NAME"]) as db:
        db.execute(f'DELETE FROM "{TABLE}" WHERE id = 2')
        db.execute(f'INSERT INTO "{TABLE}" VALUES (4, "evidence/later")')
    db.close()
    storage.delete("evidence/reports/1/aaa")

    result = backup_restore(path=backup.path, database=database, storage=storage)

    assert (result.files_written, result.files_unchanged) == (1, 1)
    assert rows(Path(database["NAME"])) == [(1, "evidence/reports/1/aaa"), (2, "evidence/reports/2/bbb"), (3, "")]
    assert storage.open("evidence/reports/1/aaa").read() == b"%PDF-1.4 first"


def test_the_backup_folder_is_private(backup):
    assert backup.path.stat().st_mode & 0o777 == 0o700


def test_a_snapshot_is_for_postgresql_only(source, tmp_path):
    database, storage = source
    with pytest.raises(BackupError, match="only be given for a PostgreSQL database"):
        backup_create(database=database, storage=storage, directory=tmp_path / "backups", snapshot="00000003-1")
    assert not (tmp_path / "backups").exists() or not list((tmp_path / "backups").iterdir())


def test_a_file_missing_from_the_storage_is_named_in_the_manifest(source, tmp_path):
    database, storage = source
    storage.delete("evidence/reports/2/bbb")

    taken = backup_create(database=database, storage=storage, directory=tmp_path / "backups")

    assert taken.manifest["missing_files"] == ["evidence/reports/2/bbb"]
    assert taken.manifest["file_count"] == 1


# --------------------------------------------------------------------------- refused, nothing written


@pytest.fixture
def target(tmp_path):
    """Where a refused restore must write nothing: a database and a storage with content of their own."""
    storage = FileSystemStorage(location=tmp_path / "target-media")
    storage.save("evidence/kept", ContentFile(b"kept"))
    path = tmp_path / "target.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f'CREATE TABLE "{TABLE}" (id INTEGER PRIMARY KEY, "{COLUMN}" TEXT NOT NULL)')
        db.execute(f'INSERT INTO "{TABLE}" VALUES (9, "evidence/kept")')
    db.close()
    return sqlite_database(path), storage


def assert_untouched(target):
    database, storage = target
    assert rows(Path(database["NAME"])) == [(9, "evidence/kept")]
    _dirs, files = storage.listdir("evidence")
    assert files == ["kept"]
    assert not storage.exists("evidence/reports")


def refused(backup_path, target) -> str:
    database, storage = target
    with pytest.raises(BackupError) as refusal:
        backup_restore(path=backup_path, database=database, storage=storage)
    assert_untouched(target)
    return str(refusal.value)


def test_no_backup_there(tmp_path, target):
    assert "There is no backup at" in refused(tmp_path / "nowhere", target)


def test_a_folder_without_manifest(backup, target):
    (backup.path / MANIFEST).unlink()
    assert "has no manifest.json" in refused(backup.path, target)


def test_an_unfinished_backup_is_not_one(backup, target):
    partial = backup.path.with_name(backup.path.name + ".partial")
    shutil.copytree(backup.path, partial)
    (partial / MANIFEST).unlink()  # written last
    assert "not a complete backup" in refused(partial, target)


def test_a_changed_file(backup, target):
    (backup.path / "files" / "evidence/reports/2/bbb").write_bytes("第二份佐證資料?".encode())
    message = refused(backup.path, target)
    assert "evidence/reports/2/bbb does not match the manifest" in message
    assert "damaged" in message


def test_a_missing_file(backup, target):
    (backup.path / "files" / "evidence/reports/1/aaa").unlink()
    assert "evidence/reports/1/aaa is missing from the backup" in refused(backup.path, target)


def test_a_damaged_database_copy(backup, target):
    with (backup.path / "database.sqlite3").open("r+b") as copy:
        copy.seek(200)
        copy.write(b"\xff")
    assert "database.sqlite3 does not match the manifest" in refused(backup.path, target)


@pytest.mark.parametrize(("part", "name"), [("file", "../../outside"), ("database", "/etc/passwd")])
def test_a_name_leading_outside(backup, target, part, name):
    manifest = json.loads((backup.path / MANIFEST).read_text(encoding="utf-8"))
    if part == "file":
        manifest["files"][0]["name"] = name
    else:
        manifest["database"]["file"] = name
    (backup.path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert "leads outside the backup" in refused(backup.path, target)


def test_a_backup_of_another_kind_of_database(backup, target):
    manifest = json.loads((backup.path / MANIFEST).read_text(encoding="utf-8"))
    manifest["database"]["engine"] = "postgresql"
    (backup.path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert "holds a postgresql database, and this system's database is sqlite3" in refused(backup.path, target)


def test_backup_verify_returns_the_manifest(backup):
    assert backup_verify(backup.path) == backup.manifest


def test_the_restore_command_refuses_before_asking(tmp_path):
    with pytest.raises(CommandError, match="There is no backup at"):
        call_command("restore", str(tmp_path / "nowhere"))


def test_no_pg_restore_is_found_before_anything_is_written(backup, target, tmp_path, settings):
    # given a PostgreSQL backup, and a folder named for PostgreSQL's programs that holds none
    manifest = json.loads((backup.path / MANIFEST).read_text(encoding="utf-8"))
    manifest["database"]["engine"] = "postgresql"
    (backup.path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    settings.GSTP_PG_BIN = str(tmp_path / "no-programs")
    _database, storage = target

    with pytest.raises(BackupError, match=r"pg_restore was not found in GSTP_PG_BIN=.*no-programs"):
        backup_restore(path=backup.path, database={"ENGINE": POSTGRESQL, "NAME": "gstp"}, storage=storage)

    assert_untouched(target)


def test_the_password_goes_to_the_programs_apart_from_the_connection_string():
    database = {
        "ENGINE": POSTGRESQL,
        "NAME": "gstp",
        "USER": "gstp",
        "PASSWORD": "s3cret pass",
        "HOST": "db.internal",
        "PORT": 5433,
        "OPTIONS": {"sslmode": "require", "connect_timeout": 5, "pool": False, "password": "not this one"},
    }

    conninfo, password = postgres_conninfo(database)

    assert conninfo_to_dict(conninfo) == {
        "dbname": "gstp",
        "user": "gstp",
        "host": "db.internal",
        "port": "5433",
        "sslmode": "require",
        "connect_timeout": "5",
    }
    assert password == "s3cret pass"
