#!/usr/bin/env bash
# Back up the demo data and restore it, on SQLite and on PostgreSQL, and check that the restored
# database holds exactly what was backed up (scripts/db_fingerprint.py: every table's row count
# and a checksum of its rows, and PostgreSQL's sequences). The commands are the README's
# "Backup and restore" ones; CI runs this script so they stay true.
#
#   scripts/backup-roundtrip.sh            SQLite, then PostgreSQL at $DATABASE_URL
#   scripts/backup-roundtrip.sh sqlite     SQLite only (no server needed)
#
# On PostgreSQL two scratch databases named after $DATABASE_URL's (<name>_backup_src,
# <name>_backup_restored) are created and dropped again; the database in the URL is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WHICH=${1:-all}
PG_URL=${DATABASE_URL:-}
TMP=$(mktemp -d)
# Tasks run in-process (no broker files under var/), and only warnings are logged.
export DEBUG=1 CELERY_TASK_ALWAYS_EAGER=1 LOG_LEVEL=WARNING PGOPTIONS="-c client_min_messages=warning"

PG_BASE="" SRC_DB="" DST_DB=""
cleanup() {
  if [ -n "$PG_BASE" ]; then
    for db in "$SRC_DB" "$DST_DB"; do
      psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || true
    done
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

same() {  # same <label> <fingerprint of the original> <fingerprint of the restored copy>
  if ! diff -u "$2" "$3"; then
    echo "FAIL: $1: the restored database differs from the original (diff above)"
    exit 1
  fi
  local rows
  rows=$(awk '$1 != "sequence" { n += $2 } END { print n }' "$2")
  if [ "$rows" -eq 0 ]; then
    echo "FAIL: $1: the original database is empty; nothing was compared"
    exit 1
  fi
  echo "ok: $1: $(grep -vc '^sequence' "$2") tables, $rows rows, identical after the round trip"
}

if [ "$WHICH" = all ] || [ "$WHICH" = sqlite ]; then
  echo "==> SQLite: demo data, online backup, restore, compare"
  live=$TMP/live.sqlite3 backup=$TMP/backup.sqlite3 restored=$TMP/restored.sqlite3
  unset DATABASE_URL
  SQLITE_PATH=$live $PY manage.py migrate --noinput -v0
  SQLITE_PATH=$live $PY manage.py load_demo >/dev/null
  # SQLite's online backup API: a consistent copy even while the site is running and writing.
  if command -v sqlite3 >/dev/null; then
    sqlite3 "$live" ".backup '$backup'"
    # A restore is the backup file put in place, with the site stopped; `.restore` does it.
    sqlite3 "$restored" ".restore '$backup'"
  else
    $PY - "$live" "$backup" "$restored" <<'PYTHON'
import sqlite3, sys
live, backup, restored = sys.argv[1:]
for source, target in ((live, backup), (backup, restored)):
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
PYTHON
  fi
  SQLITE_PATH=$live $PY scripts/db_fingerprint.py >"$TMP/sqlite-original.txt"
  SQLITE_PATH=$restored $PY scripts/db_fingerprint.py >"$TMP/sqlite-restored.txt"
  same SQLite "$TMP/sqlite-original.txt" "$TMP/sqlite-restored.txt"
fi

if [ "$WHICH" = all ] || [ "$WHICH" = postgres ]; then
  echo "==> PostgreSQL: demo data, pg_dump -Fc, pg_restore into a new database, compare"
  url=${PG_URL:?set DATABASE_URL=postgres://user@host:port/name for the PostgreSQL round trip}
  PG_BASE=${url%/*} name=${url##*/}
  SRC_DB=${name%%\?*}_backup_src DST_DB=${name%%\?*}_backup_restored
  for db in "$SRC_DB" "$DST_DB"; do
    psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
  done
  psql -q "$PG_BASE/postgres" -c "CREATE DATABASE \"$SRC_DB\""
  DATABASE_URL=$PG_BASE/$SRC_DB $PY manage.py migrate --noinput -v0
  DATABASE_URL=$PG_BASE/$SRC_DB $PY manage.py load_demo >/dev/null
  pg_dump --format=custom --file="$TMP/pacttracker.dump" "$PG_BASE/$SRC_DB"
  # Restore into a new, empty database made from template0 (nothing of template1 in the way).
  psql -q "$PG_BASE/postgres" -c "CREATE DATABASE \"$DST_DB\" TEMPLATE template0"
  pg_restore --no-owner --exit-on-error --dbname="$PG_BASE/$DST_DB" "$TMP/pacttracker.dump"
  DATABASE_URL=$PG_BASE/$SRC_DB $PY scripts/db_fingerprint.py >"$TMP/pg-original.txt"
  DATABASE_URL=$PG_BASE/$DST_DB $PY scripts/db_fingerprint.py >"$TMP/pg-restored.txt"
  same PostgreSQL "$TMP/pg-original.txt" "$TMP/pg-restored.txt"
fi
