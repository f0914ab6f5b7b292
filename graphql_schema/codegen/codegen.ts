/**
 * graphql-codegen: typed documents for the operations in ../operations/ against the committed
 * SDL (../schema.graphql), plus the trusted-documents manifest the gateway loads
 * (PERSISTED_DOCUMENTS_PATH=graphql_schema/codegen/generated/persisted-documents.json).
 *
 *   npm ci && npm run codegen && npm run typecheck
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../schema.graphql',
  documents: ['../operations/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    './generated/': {
      preset: 'client',
      config: {
        // The gateway's custom scalars arrive as ISO-8601 strings.
        scalars: { DateTime: 'string', Date: 'string' },
        strictScalars: true,
        enumsAsTypes: true,
        useTypeImports: true,
        // Native ESM: relative imports with a .js extension (module "nodenext").
        emitLegacyCommonJSImports: false,
      },
      presetConfig: {
        fragmentMasking: { unmaskFunctionName: 'getFragmentData' },
        // Writes generated/persisted-documents.json ({sha256 hex: document}) and puts each
        // document's hash in `__meta__.hash`, which the client sends as its documentId.
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
    },
  },
};

export default config;
