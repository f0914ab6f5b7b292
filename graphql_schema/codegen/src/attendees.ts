/**
 * What a frontend does with the generated types: turn query results into view rows.
 * Every nested read below is checked by tsc against the types graphql-codegen generated from
 * the committed SDL, so a breaking schema change (a renamed field, a field that becomes
 * nullable, a new kind of booking) fails `npm run typecheck`.
 */
import { type FragmentType, getFragmentData } from '../generated/fragment-masking.js';
import {
  AttendeeRowFragmentDoc,
  BookingSummaryFragmentDoc,
  GroupAppointmentSeatsFragmentDoc,
  IndividualAppointmentArrivalFragmentDoc,
  PatientSummaryFragmentDoc,
  UserErrorFieldsFragmentDoc,
  type AttendeeListQuery,
  type AttendeeListQueryVariables,
  type BookingWithAttendeesQuery,
  type CancelAttendeeMutation,
  type CancellationReason,
  type CreateAttendeeMutation,
  type PatientSearchQuery,
  type UserErrorCode,
} from '../generated/graphql.js';

/** One line of the attendee list screen. */
export interface AttendeeLine {
  id: string;
  databaseId: string;
  patient: string;
  firstName: string;
  booking: string;
  kind: 'group' | 'individual';
  startsAt: Date;
  arrived: 'yes' | 'no' | 'unknown';
  cancelled: boolean;
}

export function patientName(ref: FragmentType<typeof PatientSummaryFragmentDoc>): string {
  const patient = getFragmentData(PatientSummaryFragmentDoc, ref);
  // firstName is non-null in the schema: calling a string method on it type-checks only then.
  return `${(patient.preferredFirstName ?? patient.firstName).trim()} ${patient.lastName.trim()}`;
}

export function bookingLabel(ref: FragmentType<typeof BookingSummaryFragmentDoc>): string {
  const booking = getFragmentData(BookingSummaryFragmentDoc, ref);
  const name = booking.appointmentType.name;
  switch (booking.__typename) {
    case 'GroupAppointment': {
      const seats = getFragmentData(GroupAppointmentSeatsFragmentDoc, booking);
      return `${name} (${seats.availableSeats} of ${seats.maxAttendees} seats free)`;
    }
    case 'IndividualAppointment': {
      const arrival = getFragmentData(IndividualAppointmentArrivalFragmentDoc, booking);
      return `${name} with ${booking.practitioner.displayName ?? 'a practitioner'}${arrival.didNotArrive ? ', did not arrive' : ''}`;
    }
    default:
      // A new Booking implementation in the schema makes this assignment fail to type-check.
      return assertNever(booking);
  }
}

export function attendeeLine(ref: FragmentType<typeof AttendeeRowFragmentDoc>): AttendeeLine {
  const row = getFragmentData(AttendeeRowFragmentDoc, ref);
  const booking = getFragmentData(BookingSummaryFragmentDoc, row.booking);
  return {
    id: row.id,
    databaseId: row.databaseId,
    patient: patientName(row.patient),
    firstName: getFragmentData(PatientSummaryFragmentDoc, row.patient).firstName,
    booking: bookingLabel(row.booking),
    kind: booking.__typename === 'GroupAppointment' ? 'group' : 'individual',
    startsAt: new Date(booking.startsAt),
    arrived: row.arrived === null ? 'unknown' : row.arrived ? 'yes' : 'no',
    cancelled: row.cancelledAt !== null,
  };
}

export function attendeeLines(data: AttendeeListQuery): AttendeeLine[] {
  return data.attendees.edges.map((edge) => attendeeLine(edge.node));
}

/** The variables of the next page, or null on the last page. */
export function nextPage(
  data: AttendeeListQuery,
  variables: AttendeeListQueryVariables,
): AttendeeListQueryVariables | null {
  const { hasNextPage, endCursor } = data.attendees.pageInfo;
  return hasNextPage && endCursor !== null ? { ...variables, after: endCursor } : null;
}

/** A booking's roster: who is booked, who cancelled. */
export function roster(data: BookingWithAttendeesQuery): { title: string; booked: string[]; cancelled: string[] } | null {
  if (data.booking === null) return null;
  const nodes = data.booking.attendees.nodes;
  return {
    title: bookingLabel(data.booking),
    booked: nodes.filter((a) => a.cancelledAt === null).map((a) => patientName(a.patient)),
    cancelled: nodes
      .filter((a) => a.cancelledAt !== null)
      .map((a) => `${patientName(a.patient)} (${a.cancellationReasonDescription ?? 'cancelled'})`),
  };
}

export function searchResults(data: PatientSearchQuery): { label: string; phones: string[] }[] {
  return data.patients.nodes.map((p) => ({
    label: `${patientName(p)}${p.dateOfBirth ? `, born ${p.dateOfBirth}` : ''}`,
    phones: p.phoneNumbers.map((n) => `${n.phoneType ?? 'OTHER'}: ${n.number}`),
  }));
}

const USER_ERROR_HINTS: Partial<Record<UserErrorCode, string>> = {
  BOOKING_FULL: 'The class is full.',
  ALREADY_ATTENDING: 'The patient is already booked in.',
  ARCHIVED: 'The booking or patient is archived.',
  NOT_FOUND: 'Not found.',
};

export interface UserErrorView {
  code: UserErrorCode;
  field: string | null;
  message: string;
}

type UserErrorRefs = ReadonlyArray<FragmentType<typeof UserErrorFieldsFragmentDoc>>;

export function userErrors(refs: UserErrorRefs): UserErrorView[] {
  return getFragmentData(UserErrorFieldsFragmentDoc, refs).map((e) => ({
    code: e.code,
    field: e.field?.join('.') ?? null,
    message: USER_ERROR_HINTS[e.code] ?? e.message,
  }));
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; errors: UserErrorView[] };

export function createdAttendee(data: CreateAttendeeMutation): Outcome<AttendeeLine> {
  const { attendee, userErrors: errors } = data.createAttendee;
  return attendee === null ? { ok: false, errors: userErrors(errors) } : { ok: true, value: attendeeLine(attendee) };
}

export function cancelledAttendee(
  data: CancelAttendeeMutation,
): Outcome<{ id: string; reason: CancellationReason | null; label: string | null; seatsFree: number | null }> {
  const { attendee, userErrors: errors } = data.cancelAttendee;
  if (attendee === null) return { ok: false, errors: userErrors(errors) };
  const booking = attendee.booking;
  const seats =
    booking.__typename === 'GroupAppointment' ? getFragmentData(GroupAppointmentSeatsFragmentDoc, booking) : null;
  return {
    ok: true,
    value: {
      id: attendee.id,
      reason: attendee.cancellationReason,
      label: attendee.cancellationReasonDescription,
      seatsFree: seats?.availableSeats ?? null,
    },
  };
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
