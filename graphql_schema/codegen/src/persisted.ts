/**
 * Trusted documents for graphql-request: send `{"documentId": "sha256:<hash>", "variables": ...}`
 * instead of the query text. The hashes come from the documents graphql-codegen generated
 * (`__meta__.hash`, the same keys as generated/persisted-documents.json, which the server
 * loads through PERSISTED_DOCUMENTS_PATH).
 */
import type { RequestInitExtended, RequestMiddleware } from 'graphql-request';
import * as generated from '../generated/graphql.js';

interface PersistedDocument {
  __meta__?: { hash?: string };
  definitions: ReadonlyArray<{ kind: string; name?: { value: string } }>;
}

function isPersisted(value: unknown): value is PersistedDocument {
  return typeof value === 'object' && value !== null && '__meta__' in value && 'definitions' in value;
}

/** documentId by operation name, for every operation the frontend ships. */
export const documentIds: ReadonlyMap<string, string> = new Map(
  Object.values(generated as Record<string, unknown>)
    .filter(isPersisted)
    .flatMap((doc) => {
      const operation = doc.definitions.find((d) => d.kind === 'OperationDefinition');
      const hash = doc.__meta__?.hash;
      return operation?.name && hash ? [[operation.name.value, hash] as const] : [];
    }),
);

/** Swaps the query text of a known operation for its documentId. */
export const sendDocumentId: RequestMiddleware = (request: RequestInitExtended) => {
  const name = request.operationName;
  const documentId = name === undefined ? undefined : documentIds.get(name);
  if (documentId === undefined || typeof request.body !== 'string') {
    return request; // not a generated operation: sent as is (a trusted-only server refuses it)
  }
  const { variables, operationName } = JSON.parse(request.body) as {
    variables?: Record<string, unknown>;
    operationName?: string;
  };
  return { ...request, body: JSON.stringify({ documentId, operationName, variables }) };
};
