/**
 * Live changes over GraphQL over WebSocket with the npm `graphql-ws` client, typed by the
 * generated FrontDesk document. Run by tests/test_subscriptions.py:
 *
 *   node dist/src/live.js '{"url": ..., "mutateUrl": ..., "key": ..., "bookingId": ..., "patientId": ...}'
 *
 * It subscribes to a class on `url`, books a patient into it over HTTP on `mutateUrl`, waits for the attendee's
 * CREATED event, and checks that a refused key (4403) is not retried. Prints one JSON report.
 */
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { type FormattedExecutionResult, print } from 'graphql';
import {
  CreateAttendeeDocument,
  FrontDeskDocument,
  type FrontDeskSubscription,
  type FrontDeskSubscriptionVariables,
} from '../generated/graphql.js';

interface Config {
  url: string;
  mutateUrl: string;
  key: string;
  bookingId: string;
  patientId: string;
}

/** Close codes after which retrying cannot help (contract §7): a bad or revoked key, limits. */
const FATAL = new Set([4400, 4403, 4406, 4409, 4429, 4500]);

/** A graphql-ws client for the gateway: the key in connection_init, and no retry on 4403. */
export function liveClient(url: string, key: string, onClose?: (code: number) => void): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${key}` },
    lazy: false,
    retryAttempts: 5,
    shouldRetry: (event) => !FATAL.has((event as { code?: number }).code ?? 0),
    on: { closed: (event) => onClose?.((event as { code?: number }).code ?? 0) },
  });
}

type FrontDeskEvent = FrontDeskSubscription['attendeeEvents'];

/**
 * Follows a class: calls `onEvent` with each typed event. The subscribe payload is reused
 * when graphql-ws reconnects, so keeping `after` in it makes every reconnect resume where
 * the last event left off.
 */
export function followClass(
  client: Client,
  variables: FrontDeskSubscriptionVariables,
  onEvent: (event: FrontDeskEvent) => void,
  onError: (error: unknown) => void,
): () => void {
  const payload = { query: print(FrontDeskDocument), variables: { ...variables } };
  return client.subscribe<FrontDeskSubscription>(payload, {
    next: (result: FormattedExecutionResult<FrontDeskSubscription>) => {
      if (result.data) {
        payload.variables.after = result.data.attendeeEvents.eventId;
        onEvent(result.data.attendeeEvents);
      }
    },
    error: onError,
    complete: () => undefined,
  });
}

async function book(config: Config): Promise<string> {
  const response = await fetch(config.mutateUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${config.key}` },
    body: JSON.stringify({
      query: print(CreateAttendeeDocument),
      variables: { input: { bookingId: config.bookingId, patientId: config.patientId } },
    }),
  });
  const body = (await response.json()) as { data?: { createAttendee: { attendee: { id: string } | null } } };
  const attendee = body.data?.createAttendee.attendee;
  if (!attendee) throw new Error(`createAttendee failed: ${JSON.stringify(body)}`);
  return attendee.id;
}

async function refusedCloses(url: string): Promise<number[]> {
  const codes: number[] = [];
  const client = liveClient(url, 'agw_not-a-key', (code) => codes.push(code));
  await new Promise<void>((resolve) => {
    client.subscribe({ query: print(FrontDeskDocument), variables: { bookingId: '1' } }, {
      next: () => undefined,
      error: () => resolve(),
      complete: () => resolve(),
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 1500)); // a retry would have closed again
  await client.dispose();
  return codes;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as Config;
  const client = liveClient(config.url, config.key);
  const events: FrontDeskEvent[] = [];
  let arrived: (() => void) | undefined;
  const first = new Promise<void>((resolve) => (arrived = resolve));
  let failure: unknown;
  const stop = followClass(
    client,
    { bookingId: config.bookingId },
    (event) => {
      events.push(event);
      arrived?.();
    },
    (error) => {
      failure = error;
      arrived?.();
    },
  );
  await new Promise((resolve) => setTimeout(resolve, 300)); // subscribed
  const started = Date.now();
  const attendeeId = await book(config);
  await Promise.race([first, new Promise((resolve) => setTimeout(resolve, 5000))]);
  const latencyMs = Date.now() - started;
  stop();
  await client.dispose();
  const refused = await refusedCloses(config.url);
  console.log(JSON.stringify({ attendeeId, events, latencyMs, failure: failure ? String(failure) : null, refused }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
