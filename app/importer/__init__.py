"""`import-cliniko`: load Cliniko API JSON into one account, keeping Cliniko's ids.

Input: a JSON file, or a directory of them (searched recursively), each holding a list
envelope (`{"patients": [...], "total_entries": N, "links": {...}}`), a single object,
or a JSON array of objects, exactly as the Cliniko API returns them. Records are written
in dependency order, whatever the file names: practitioners, appointment types,
patients, patient cases, appointments (group and individual; origins before their
repeats), attendees.

Decisions:

- Ids: Cliniko's id (a string or a number, 1 to 2^63-1) is our database id; link objects
  (`{"links": {"self": ".../patients/82"}}`) resolve to the id at the end of the URL; an
  omitted (or null) link is a null column. An attendee's `booking` link may point at
  `/bookings/`, `/group_appointments/` or `/individual_appointments/` (one id space).
- Upsert: a record whose id is new is inserted; one whose row exists in the account is
  compared column by column and updated only when something differs (so re-importing an
  export changes nothing); an id that exists in another account is rejected, and that
  account's row is never touched.
- Each record is all-or-nothing (checked first, then written in a SAVEPOINT). A record
  that is malformed (missing or mistyped required field, bad enum code, date-time without
  a zone), refers to something missing in the account, or breaks a rule (a full class, a
  second active attendance of a patient in a booking, an individual appointment's
  attendee who is not its patient, a booking changing kind) is rejected and reported as
  `file: position (id N): reason`; the others still land. Reports never show values.
- Mapping: Cliniko's field names are our column names; date-times become aware UTC
  (`""` counts as null, as in old payloads); `cancellation_reason_description` is
  derived and not stored; `patient_phone_numbers` keeps `number` and `phone_type`;
  `repeat_rule` (`{}` when none) fills repeat_type/number_of_repeats/repeating_interval.
  Fields without a column are ignored. Practitioners: `active: false` without an
  `archived_at` archives at `updated_at`. Patient cases: the deprecated `closed: true`
  without `closed_at` closes at `updated_at`. Appointment types: a null `max_attendees`
  seats one. Unavailable blocks (in `/bookings`) are counted as skipped.
- Individual appointments: the `patient` and `patient_case` links go on the booking. Its
  attendee comes from the attendees in the export; when the export has none for it, one
  is made from the appointment's attendee-level fields (arrival, cancellation, reminders,
  invoice and treatment-note status), with the appointment's id as its id, and kept in
  step with the appointment on later imports. When a later export brings Cliniko's
  attendee, that attendee replaces the one made for it.
- Seats: booking.active_attendees is recounted for every booking the import touched,
  so it always equals its active attendees.
- Transactions: a commit every few hundred records, so a long import does not hold the
  database's write lock throughout; rerun the same export to finish an interrupted one.
- Id sequences are left alone: ids the API assigns on PostgreSQL stay in their own
  (small) range, far below Cliniko's 64-bit ids.
"""

from app.importer.report import Report
from app.importer.run import import_cliniko
from app.importer.source import SourceError

__all__ = ["Report", "SourceError", "import_cliniko"]
