"""Mirror GSTP's published data into a local SQLite file, then keep it in step.

The first run fetches every collection; later runs fetch only the rows changed since the last run
(``updated_since``) and drop the rows deleted since then (``/api/v1/deletions/``).

    python examples/mirror.py --url http://localhost:8000 --token <key> --db mirror.sqlite3

Only ``requests`` and the standard library.
"""

import argparse
import json
import sqlite3
import sys

import requests

COLLECTIONS = ["agencies", "plans", "projects", "milestones", "indicators", "reports", "flags"]
PAGE_SIZE = 500


def open_mirror(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE IF NOT EXISTS sync (collection TEXT PRIMARY KEY, updated_since TEXT, deleted_since TEXT)")
    for name in COLLECTIONS:
        db.execute(f"CREATE TABLE IF NOT EXISTS {name} (id INTEGER PRIMARY KEY, updated_at TEXT, data TEXT NOT NULL)")
    return db


def fetch_all(session: requests.Session, url: str, params: dict) -> list[dict]:
    # Cursor pages: no total counted, and a stable order while GSTP is written to.
    rows, params = [], {**params, "cursor": "", "page_size": PAGE_SIZE}
    while url:
        response = session.get(url, params=params, timeout=30)
        response.raise_for_status()
        page = response.json()
        rows.extend(page["results"])
        url, params = page["next"], None  # the next link carries the query
    return rows


def sync(base: str, token: str, db: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    """Bring the mirror up to date; returns {collection: (rows fetched, rows deleted)}."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    api = base.rstrip("/") + "/api/v1"
    counts = {}
    for name in COLLECTIONS:
        state = db.execute("SELECT updated_since, deleted_since FROM sync WHERE collection = ?", [name]).fetchone()
        updated_since, deleted_since = state or (None, None)
        rows = fetch_all(session, f"{api}/{name}/", {"updated_since": updated_since} if updated_since else {})
        deleted = []
        if deleted_since or updated_since:
            deleted = fetch_all(
                session, f"{api}/deletions/", {"resource": name, "since": deleted_since or updated_since}
            )
        with db:
            db.executemany(
                f"INSERT INTO {name} (id, updated_at, data) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, data = excluded.data",
                [
                    (row["id"], row.get("updated_at"), json.dumps(row, sort_keys=True, ensure_ascii=False))
                    for row in rows
                ],
            )
            db.executemany(f"DELETE FROM {name} WHERE id = ?", [(row["id"],) for row in deleted])
            newest = max([row.get("updated_at") or "" for row in rows] + [updated_since or ""]) or None
            newest_deletion = max([row["deleted_at"] for row in deleted] + [deleted_since or ""]) or newest
            db.execute(
                "INSERT INTO sync (collection, updated_since, deleted_since) VALUES (?, ?, ?) ON CONFLICT (collection) "
                "DO UPDATE SET updated_since = excluded.updated_since, deleted_since = excluded.deleted_since",
                [name, newest, newest_deletion],
            )
        counts[name] = (len(rows), len(deleted))
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="GSTP's address, e.g. http://localhost:8000")
    parser.add_argument("--token", required=True, help="An API key (manage.py issue_token)")
    parser.add_argument("--db", default="gstp-mirror.sqlite3", help="The SQLite file to keep the mirror in")
    args = parser.parse_args(argv)
    db = open_mirror(args.db)
    for name, (fetched, deleted) in sync(args.url, args.token, db).items():
        print(f"{name}: {fetched} fetched, {deleted} deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
