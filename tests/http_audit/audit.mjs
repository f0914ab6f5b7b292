// Runs every graphql-http server audit (GraphQL over HTTP conformance) against a live
// attendee-gateway server and prints one JSON line per audit:
//   {"id", "name", "status", "reason", "http_status", "content_type", "body"}
// status is graphql-http's: "ok", "error" (a failed MUST), "warn" (a failed SHOULD) or
// "notice" (a failed MAY). The last three keys describe the response of a failed audit.
//
// Environment: AUDIT_URL (the /graphql URL) and AUDIT_API_KEY (sent as
// `Authorization: Bearer <key>` on every request, since the server answers 401 without one).
// Exit code: 0 when every MUST passes, 1 when a MUST fails, 2 on a usage or fatal error.
import { serverAudits } from 'graphql-http';

const url = process.env.AUDIT_URL;
const key = process.env.AUDIT_API_KEY;
if (!url || !key) {
  console.error('usage: AUDIT_URL=http://host:port/graphql AUDIT_API_KEY=<key> node audit.mjs');
  process.exit(2);
}

/** fetch, with the API key added to whatever headers the audit sends. */
function fetchWithKey(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
}

async function describe(response) {
  if (!response) return {};
  let body;
  try {
    body = (await response.text()).slice(0, 500);
  } catch {
    body = '(body already read)';
  }
  return {
    http_status: response.status,
    content_type: response.headers.get('content-type'),
    body,
  };
}

let mustFailed = false;
// One at a time (graphql-http's auditServer runs them all at once), so the output keeps
// the suite's order and the server sees a gentle, bounded load.
for (const { id, name, fn } of serverAudits({ url, fetchFn: fetchWithKey })) {
  let line;
  try {
    const result = await fn();
    line =
      result.status === 'ok'
        ? { id, name, status: 'ok', reason: null }
        : { id, name, status: result.status, reason: result.reason, ...(await describe(result.response)) };
  } catch (err) {
    // graphql-http throws only on fatal problems (the server unreachable, for one).
    line = { id, name, status: 'error', reason: `fatal: ${err?.stack ?? err}` };
  }
  if (line.status === 'error') mustFailed = true;
  console.log(JSON.stringify(line));
}
process.exitCode = mustFailed ? 1 : 0;
