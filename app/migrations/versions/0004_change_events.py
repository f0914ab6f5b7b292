"""Change events: the log subscriptions replay from, written by triggers in the writer's
transaction, and the open WebSocket registry the per-key limit counts.

Every insert or update of an attendee or a booking appends one row to `event_log`, whoever
writes it (a mutation, the Cliniko import, a script): the database guarantees that a
committed change is published and a rolled-back one is not. On PostgreSQL the triggers are
deferred to COMMIT, and `seq` is drawn under a transaction-level advisory lock from a
sequence without a cache, so seq order is commit order (app/events/log.py). On SQLite,
`BEGIN IMMEDIATE` already serializes writers.

A later migration (or script) that changes rows of these tables and then alters or indexes
them in the same transaction must `SET LOCAL gateway.events = 'off'` first (as `seed` does,
app/events/log.py `without_events`): PostgreSQL refuses DDL on a table with pending
deferred trigger events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LOCK_KEY = 7220001  # pg_advisory_xact_lock key used for nothing else

_PG_KIND = """
  IF TG_OP = 'INSERT' THEN k := 'CREATED';
  ELSIF OLD.cancelled_at IS NULL AND NEW.cancelled_at IS NOT NULL THEN k := 'CANCELLED';
  ELSIF OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL THEN k := 'ARCHIVED';
  ELSIF OLD.archived_at IS NOT NULL AND NEW.archived_at IS NULL THEN k := 'UNARCHIVED';
  ELSE k := 'UPDATED';
  END IF;
"""

PG_UP = [
    "CREATE SEQUENCE event_log_seq CACHE 1",  # a per-session cache would break commit order
    f"""
    CREATE FUNCTION event_log_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock({LOCK_KEY});  -- held until COMMIT or ROLLBACK ends
      NEW.seq := nextval('event_log_seq');
      RETURN NEW;
    END $$""",
    """CREATE TRIGGER event_log_stamp BEFORE INSERT ON event_log
       FOR EACH ROW EXECUTE FUNCTION event_log_stamp()""",
    f"""
    CREATE FUNCTION publish_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE k text; s bigint;
    BEGIN
      {_PG_KIND}
      IF TG_TABLE_NAME = 'attendee' THEN
        INSERT INTO event_log (account_id, entity, entity_id, kind, booking_id, patient_id,
                               practitioner_id, occurred_at)
        VALUES (NEW.account_id, 'attendee', NEW.id, k, NEW.booking_id, NEW.patient_id, NULL,
                clock_timestamp())
        RETURNING seq INTO s;
      ELSE
        INSERT INTO event_log (account_id, entity, entity_id, kind, booking_id, patient_id,
                               practitioner_id, occurred_at)
        VALUES (NEW.account_id, 'booking', NEW.id, k, NEW.id, NEW.patient_id,
                NEW.practitioner_id, clock_timestamp())
        RETURNING seq INTO s;
      END IF;
      PERFORM pg_notify('gw_events', s::text);  -- delivered only if and when COMMIT succeeds
      RETURN NULL;
    END $$""",
]
# `SET LOCAL gateway.events = 'off'` (seed's bulk data) keeps events from even being queued:
# a queued deferred trigger event would block the bulk load's CREATE INDEX.
_PUBLISHING = "current_setting('gateway.events', true) IS DISTINCT FROM 'off'"
for _table in ("attendee", "booking"):
    PG_UP += [
        f"""CREATE CONSTRAINT TRIGGER {_table}_created AFTER INSERT ON {_table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            WHEN ({_PUBLISHING}) EXECUTE FUNCTION publish_change()""",
        f"""CREATE CONSTRAINT TRIGGER {_table}_changed AFTER UPDATE ON {_table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
            WHEN (OLD.* IS DISTINCT FROM NEW.* AND {_PUBLISHING})
            EXECUTE FUNCTION publish_change()""",
    ]

_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"
_SQLITE_KIND = """CASE
  WHEN OLD.cancelled_at IS NULL AND NEW.cancelled_at IS NOT NULL THEN 'CANCELLED'
  WHEN OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL THEN 'ARCHIVED'
  WHEN OLD.archived_at IS NOT NULL AND NEW.archived_at IS NULL THEN 'UNARCHIVED'
  ELSE 'UPDATED' END"""
_SQLITE_VALUES = {
    "attendee": "NEW.account_id, 'attendee', NEW.id, {kind}, NEW.booking_id, NEW.patient_id, NULL",
    "booking": "NEW.account_id, 'booking', NEW.id, {kind}, NEW.id, NEW.patient_id, NEW.practitioner_id",
}
_SQLITE_COLUMNS = (
    "account_id, entity, entity_id, kind, booking_id, patient_id, practitioner_id, occurred_at"
)
SQLITE_UP = []
for _table, _values in _SQLITE_VALUES.items():
    SQLITE_UP += [
        f"""CREATE TRIGGER {_table}_created AFTER INSERT ON {_table} BEGIN
            INSERT INTO event_log ({_SQLITE_COLUMNS})
            VALUES ({_values.format(kind="'CREATED'")}, {_SQLITE_NOW}); END""",
        f"""CREATE TRIGGER {_table}_changed AFTER UPDATE ON {_table} BEGIN
            INSERT INTO event_log ({_SQLITE_COLUMNS})
            VALUES ({_values.format(kind=_SQLITE_KIND)}, {_SQLITE_NOW}); END""",
    ]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "event_log",
        sa.Column("seq", ID, primary_key=True, autoincrement=not postgres),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("entity_id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("booking_id", ID, nullable=True),
        sa.Column("patient_id", ID, nullable=True),
        sa.Column("practitioner_id", ID, nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,  # a seq is never reused, even after pruning to empty
    )
    op.create_index("ix_event_log_account_id_seq", "event_log", ["account_id", "seq"])
    op.create_index("ix_event_log_occurred_at", "event_log", ["occurred_at"])
    state = op.create_table(
        "event_log_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("pruned_through", ID, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_event_log_state_one_row"),
    )
    op.bulk_insert(state, [{"id": 1, "pruned_through": 0}])
    op.create_table(
        "ws_socket",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("api_key_id", ID, nullable=False),
        sa.Column("process", sa.String(36), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ws_socket_api_key_id", "ws_socket", ["api_key_id"])
    for statement in PG_UP if postgres else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in ("attendee", "booking"):
        for trigger in ("created", "changed"):
            op.execute(
                f"DROP TRIGGER {table}_{trigger} ON {table}"
                if postgres
                else f"DROP TRIGGER {table}_{trigger}"
            )
    op.drop_table("ws_socket")
    op.drop_table("event_log_state")
    op.drop_table("event_log")
    if postgres:
        op.execute("DROP FUNCTION publish_change()")
        op.execute("DROP FUNCTION event_log_stamp()")
        op.execute("DROP SEQUENCE event_log_seq")
