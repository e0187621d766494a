"""Backups: the database and the stored files in one folder with a manifest, and restoring one.

A backup is a folder ``gstp-backup-<UTC time>/``::

    manifest.json       when it was taken, of which database, each part's size and SHA-256
    database.dump       PostgreSQL: ``pg_dump --format=custom``
    database.sqlite3    SQLite (the embedded default): a copy made with SQLite's online backup API
    files/<name>        every stored file (evidence files...) the database refers to, under its storage name

The database is read in one snapshot (PostgreSQL: a REPEATABLE READ transaction whose snapshot pg_dump
imports; SQLite: the backup API's consistent copy), and the files are those that snapshot refers to, copied
after it: a file is written to the storage before the row naming it commits, so every file the dump names is
there to copy. The folder is written as ``<name>.partial`` and renamed once complete, so a backup that did not
finish never looks like one.

Restoring checks the manifest and every checksum before it touches anything, puts the files back (adding
only, so a failure leaves the running system as it was), then restores the database in one transaction
(``pg_restore --single-transaction``; SQLite's backup API into the database file): it is all there or the
database is unchanged.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import psycopg
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.db import models
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.pq import Conninfo

FORMAT = "gstp-backup/1"
MANIFEST = "manifest.json"
FILES_DIR = "files"
POSTGRES_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
POSTGRESQL = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"
PG_ROOT = Path("/usr/lib/postgresql")
CHUNK = 1024 * 1024
PG_TIMEOUT_SECONDS = 3600


class BackupError(Exception):
    """A backup could not be taken or restored; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict
    files_written: int
    files_unchanged: int


# --------------------------------------------------------------------------- taking a backup


def backup_create(
    *,
    database: dict,
    storage,
    directory: Path,
    snapshot: str | None = None,
    now: datetime.datetime | None = None,
) -> BackupResult:
    """Back up ``database`` (a connection's settings dict) and the files of ``storage`` it refers to into a new
    folder under ``directory``. ``snapshot``: on PostgreSQL, dump as of a snapshot another transaction exported
    with ``pg_export_snapshot()`` and keeps open until this returns."""
    engine = database["ENGINE"]
    if engine not in (POSTGRESQL, SQLITE):
        raise BackupError(f"Backups are made of PostgreSQL or SQLite databases, not {engine}.")
    if snapshot and engine != POSTGRESQL:
        raise BackupError("A snapshot can only be given for a PostgreSQL database.")
    now = now or datetime.datetime.now(tz=datetime.UTC)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"gstp-backup-{now:%Y%m%dT%H%M%SZ}"
    partial = final.with_name(final.name + ".partial")
    if final.exists() or partial.exists():
        raise BackupError(f"{final} already exists.")
    partial.mkdir(mode=0o700)  # the dump holds every account's password hash
    try:
        if engine == POSTGRESQL:
            database_part, file_names = _dump_postgres(database, partial / POSTGRES_DUMP, snapshot=snapshot)
        else:
            database_part, file_names = _copy_sqlite(database, partial / SQLITE_COPY)
        files, missing = _copy_files(storage, file_names, partial / FILES_DIR)
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "database": database_part,
            "file_count": len(files),
            "file_bytes": sum(entry["bytes"] for entry in files),
            "files": files,
            "missing_files": missing,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupResult(path=final, manifest=manifest)


def file_columns() -> list[tuple[str, str]]:
    """``(table, column)`` of every file field of every model: where the database names stored files."""
    columns = set()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField):
                columns.add((model._meta.db_table, field.column))
    return sorted(columns)


def _dump_postgres(database: dict, target: Path, *, snapshot: str | None) -> tuple[dict, list[str]]:
    conninfo, password = postgres_conninfo(database)
    try:
        connection = psycopg.connect(conninfo, password=password, autocommit=False)
    except psycopg.Error as exc:
        raise BackupError(f"Cannot connect to the database {database['NAME']!r}: {exc}") from exc
    with connection:
        cursor = connection.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        if snapshot:
            try:
                cursor.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            except psycopg.Error as exc:
                raise BackupError(f"Cannot use the snapshot {snapshot!r}: {exc}") from exc
        else:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
        existing = {
            (table, column)
            for table, column in cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            )
        }
        names = set()
        for table, column in file_columns():
            if (table, column) not in existing:
                continue  # a model whose migration has not run here
            query = sql.SQL("SELECT DISTINCT {column} FROM {table} WHERE {column} <> ''").format(
                column=sql.Identifier(column), table=sql.Identifier(table)
            )
            names.update(name for (name,) in cursor.execute(query))
        pg_dump = postgres_program("pg_dump")
        argv = [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", f"--dbname={conninfo}"]
        _run_postgres_program(argv, password=password, what="pg_dump")
        connection.rollback()
    return {
        "engine": "postgresql",
        "name": database["NAME"],
        "server_version": server_version,
        "dump_program": _program_version(pg_dump),
        "file": target.name,
        **_digest(target),
    }, sorted(names)


def _copy_sqlite(database: dict, target: Path) -> tuple[dict, list[str]]:
    source_path = Path(database["NAME"])
    if str(database["NAME"]) == ":memory:" or not source_path.exists():
        raise BackupError(f"There is no SQLite database file at {database['NAME']}.")
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # one consistent copy, even while others write
        existing = {
            (table, row[1])
            for (table,) in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            for row in copy.execute(f'PRAGMA table_info("{table}")').fetchall()
        }
        names = set()
        for table, column in file_columns():
            if (table, column) in existing:
                query = f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" <> \'\''
                names.update(name for (name,) in copy.execute(query).fetchall())
        version = sqlite3.sqlite_version
    finally:
        copy.close()
        source.close()
    part = {"engine": "sqlite", "name": source_path.name, "server_version": version, "file": target.name}
    return {**part, **_digest(target)}, sorted(names)


def _copy_files(storage, names: list[str], target: Path) -> tuple[list[dict], list[str]]:
    files, missing = [], []
    for name in names:
        destination = _inside(target, name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            source = storage.open(name, "rb")
        except FileNotFoundError:
            missing.append(name)
            continue
        with source, destination.open("wb") as out:
            for chunk in source.chunks(CHUNK):
                out.write(chunk)
        files.append({"name": name, **_digest(destination)})
    return files, missing


# --------------------------------------------------------------------------- restoring one


def backup_verify(path: Path) -> dict:
    """The manifest of the backup at ``path``, once every part it lists is there with its size and checksum;
    ``BackupError`` naming the first that is not."""
    path = Path(path)
    if not path.is_dir():
        raise BackupError(f"There is no backup at {path}.")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path} has no {MANIFEST}: it is not a complete backup.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path / MANIFEST} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path / MANIFEST} is not a manifest of the format {FORMAT}.")
    try:
        database = manifest["database"]
        parts = [(_inside(path, database["file"]), database)]
        parts += [(_inside(path / FILES_DIR, entry["name"]), entry) for entry in manifest["files"]]
        if manifest["file_count"] != len(manifest["files"]):
            raise BackupError(
                f"{path / MANIFEST} counts {manifest['file_count']} files but lists {len(manifest['files'])}."
            )
        for part, entry in parts:
            _check(part, size=entry["bytes"], sha256=entry["sha256"])
    except (KeyError, TypeError) as exc:
        raise BackupError(f"{path / MANIFEST} is incomplete: {exc!r} is missing or wrong.") from None
    return manifest


def backup_restore(
    *,
    path: Path,
    database: dict,
    storage,
    before_database: Callable[[], None] | None = None,
) -> RestoreResult:
    """Put the backup at ``path`` back: its files into ``storage``, then its database into ``database`` (a
    connection's settings dict), replacing what is there. Everything is checked first; nothing is written when
    a check fails. ``before_database`` runs between the two (the command closes its own connections there)."""
    path = Path(path)
    manifest = backup_verify(path)
    engine = manifest["database"]["engine"]
    expected = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(engine)
    if expected is None:
        raise BackupError(f"The backup holds a database of an unknown kind, {engine!r}.")
    if database["ENGINE"] != expected:
        have = database["ENGINE"].rsplit(".", 1)[-1]
        raise BackupError(
            f"The backup holds a {engine} database, and this system's database is {have}: set DATABASE_URL to a "
            f"{engine} database to restore it into."
        )
    if expected == POSTGRESQL:
        postgres_program("pg_restore")  # found before anything is written
    written = unchanged = 0
    for entry in manifest["files"]:
        if _restore_file(storage, entry, _inside(path / FILES_DIR, entry["name"])):
            written += 1
        else:
            unchanged += 1
    if before_database:
        before_database()
    if expected == POSTGRESQL:
        _restore_postgres(database, _inside(path, manifest["database"]["file"]))
    else:
        _restore_sqlite(database, _inside(path, manifest["database"]["file"]))
    return RestoreResult(manifest=manifest, files_written=written, files_unchanged=unchanged)


def _restore_file(storage, entry: dict, source: Path) -> bool:
    """Store ``source`` under the manifest's name; False when an identical file is already there."""
    name = entry["name"]
    if storage.exists(name):
        with storage.open(name, "rb") as current:
            digest = hashlib.sha256()
            for chunk in current.chunks(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() == entry["sha256"]:
            return False
        storage.delete(name)
    with source.open("rb") as content:
        stored = storage.save(name, File(content, name=PurePosixPath(name).name))
    if stored != name:
        storage.delete(stored)
        raise BackupError(f"The storage kept {name} as {stored}: the file cannot be put back under its name.")
    return True


def _restore_postgres(database: dict, dump: Path) -> None:
    conninfo, password = postgres_conninfo(database)
    argv = [
        postgres_program("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={conninfo}",
        str(dump),
    ]
    _run_postgres_program(argv, password=password, what="pg_restore")


def _restore_sqlite(database: dict, copy_path: Path) -> None:
    target_path = Path(database["NAME"])
    if str(database["NAME"]) == ":memory:":
        raise BackupError("The database is in memory: there is no file to restore into.")
    target_path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"{copy_path.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(target_path, timeout=database.get("OPTIONS", {}).get("timeout", 20))
    try:
        source.backup(target)  # replaces every page of the target under its lock: all or nothing
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot write the SQLite database {target_path}: {exc}") from exc
    finally:
        target.close()
        source.close()


# --------------------------------------------------------------------------- PostgreSQL's programs


def postgres_conninfo(database: dict) -> tuple[str, str]:
    """A libpq connection string for ``database`` (a connection's settings dict), and its password apart: the
    programs get it in their environment, never on a command line."""
    keywords = {option.keyword.decode() for option in Conninfo.get_defaults()}
    params = {
        key: value
        for key, value in (database.get("OPTIONS") or {}).items()
        if key in keywords and key != "password" and value is not None
    }
    params.update(dbname=database["NAME"])
    for key, setting in (("user", "USER"), ("host", "HOST"), ("port", "PORT")):
        if database.get(setting):
            params[key] = str(database[setting])
    return make_conninfo("", **params), database.get("PASSWORD") or ""


def postgres_program(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: from ``GSTP_PG_BIN`` when set, else the newest Debian server version's
    (``/usr/lib/postgresql/<n>/bin``; ``/usr/bin``'s wrapper may pick an older one), else the one on PATH."""
    folder = settings.GSTP_PG_BIN
    if folder:
        candidates = [Path(folder) / name]
    else:
        versions = [path for path in PG_ROOT.glob("*/bin") if path.parent.name.isdigit()]
        candidates = [version / name for version in sorted(versions, key=lambda path: -int(path.parent.name))]
        on_path = shutil.which(name)
        candidates += [Path(on_path)] if on_path else []
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    where = f"GSTP_PG_BIN={folder}" if folder else f"{PG_ROOT}/<version>/bin or on PATH"
    raise BackupError(f"{name} was not found in {where}: install PostgreSQL's client programs.")


def _run_postgres_program(argv: list[str], *, password: str, what: str) -> None:
    env = {**os.environ, "PGPASSWORD": password} if password else dict(os.environ)
    try:
        done = subprocess.run(
            argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=PG_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{what} did not finish in {PG_TIMEOUT_SECONDS} s.") from exc
    if done.returncode:
        raise BackupError(f"{what} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def _program_version(program: str) -> str:
    done = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip()


# --------------------------------------------------------------------------- files and checksums


def _digest(path: Path) -> dict:
    """``{"bytes": ..., "sha256": ...}`` of the file at ``path``."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as content:
        while chunk := content.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def _check(path: Path, *, size: int, sha256: str) -> None:
    if not path.is_file():
        raise BackupError(f"{path} is missing from the backup.")
    actual = _digest(path)
    if actual["bytes"] != size or actual["sha256"] != sha256:
        raise BackupError(
            f"{path} does not match the manifest (SHA-256 {actual['sha256']}, {actual['bytes']} bytes; "
            f"the manifest says {sha256}, {size} bytes): the backup is damaged."
        )


def _inside(root: Path, name: str) -> Path:
    """``root / name``, refusing a name that would lead outside ``root`` (an absolute path, ``..``)."""
    relative = PurePosixPath(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise BackupError(f"The stored file name {name!r} leads outside the backup.")
    return root.joinpath(*relative.parts)
