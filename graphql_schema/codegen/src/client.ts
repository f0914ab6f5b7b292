/**
 * A frontend's round trip through graphql-request with trusted documents, against a running
 * gateway. Run by tests/test_js_client.py:
 *
 *   node dist/src/client.js '{"url": ..., "key": ..., "bookingId": ..., "patientId": ...}'
 *
 * Prints one JSON report on stdout; the test checks it against the rows it created.
 */
import { ClientError, GraphQLClient } from 'graphql-request';
import {
  AttendeeListDocument,
  type AttendeeListQueryVariables,
  CancelAttendeeDocument,
  CreateAttendeeDocument,
} from '../generated/graphql.js';
import { type AttendeeLine, attendeeLines, cancelledAttendee, createdAttendee, nextPage } from './attendees.js';
import { documentIds, sendDocumentId } from './persisted.js';

interface Config {
  url: string;
  key: string;
  bookingId: string;
  patientId: string;
  pageSize: number;
}

interface Refusal {
  status: number;
  messages: string[];
}

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ClientError) {
      return { status: error.response.status, messages: (error.response.errors ?? []).map((e) => e.message) };
    }
    throw error;
  }
  throw new Error('the server answered a request it should have refused');
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as Config;
  const headers = { Authorization: `Bearer ${config.key}` };
  const client = new GraphQLClient(config.url, { headers, requestMiddleware: sendDocumentId });

  // Every page of the attendee list, by documentId.
  const pages: AttendeeLine[][] = [];
  let totalCount = -1;
  let variables: AttendeeListQueryVariables | null = { first: config.pageSize };
  while (variables !== null) {
    const data = await client.request(AttendeeListDocument, variables);
    totalCount = data.attendees.totalCount;
    pages.push(attendeeLines(data));
    variables = nextPage(data, variables);
  }

  // Book a patient, then the same patient again (a typed user error), then cancel.
  const input = { bookingId: config.bookingId, patientId: config.patientId, clientMutationId: 'js-client' };
  const created = await client.request(CreateAttendeeDocument, { input });
  const booked = createdAttendee(created);
  const again = createdAttendee(await client.request(CreateAttendeeDocument, { input }));
  const cancelled =
    booked.ok
      ? cancelledAttendee(
          await client.request(CancelAttendeeDocument, {
            input: { id: booked.value.id, cancellationReason: 'SICK' },
          }),
        )
      : null;

  // What the server does with documents that are not in the manifest.
  const plain = new GraphQLClient(config.url, { headers });
  const adHoc = await refusal(plain.request('query AdHoc { attendees(first: 1) { totalCount } }'));
  const unknownId = await fetch(config.url, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({ documentId: `sha256:${'0'.repeat(64)}`, variables: {} }),
  }).then(async (response) => ({
    status: response.status,
    messages: ((await response.json()) as { errors?: { message: string }[] }).errors?.map((e) => e.message) ?? [],
  }));

  const report = {
    documentIds: Object.fromEntries(documentIds),
    list: { totalCount, pages },
    created: { clientMutationId: created.createAttendee.clientMutationId, outcome: booked },
    createdAgain: again,
    cancelled,
    adHoc,
    unknownId,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
