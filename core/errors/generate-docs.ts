/**
 * Writes docs/errors.md from ERROR_CODES, so every code is documented exactly as the hub reports it.
 * `node --import tsx core/errors/generate-docs.ts` rewrites the file; `--check` exits 1 when it is stale.
 * codes.test.ts fails when the committed file and the codes drift apart (fastify's docs/codes sync test).
 */
import { join } from 'node:path';
import { ERROR_CODES, type ErrorCode, type ErrorCodeSpec } from './codes.ts';
import { runDocGenerator, writeGeneratedDoc } from '../docs/generated-doc.ts';

export const ERRORS_DOC_PATH = join(import.meta.dirname, '..', '..', 'docs', 'errors.md');

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(codes: ErrorCode[]): string[] {
  const rows = ['| Code | HTTP status | IoT Hub code | Retriable | Description |', '|---|---|---|---|---|'];
  for (const code of codes) {
    const spec: ErrorCodeSpec = ERROR_CODES[code];
    rows.push(`| \`${code}\` | ${spec.status} | ${spec.iotHubCode ?? '—'} | ${spec.retriable ? 'yes' : 'no'} | ${cell(spec.description)} |`);
  }
  return rows;
}

export function renderErrorsDoc(): string {
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  const iotHub = codes.filter((c) => (ERROR_CODES[c] as ErrorCodeSpec).iotHubCode !== undefined);
  const own = codes.filter((c) => (ERROR_CODES[c] as ErrorCodeSpec).iotHubCode === undefined);
  return [
    '# Error codes',
    '',
    '<!-- Generated from core/errors/codes.ts by `node --import tsx core/errors/generate-docs.ts`. Do not edit by hand. -->',
    '',
    'Every error Tributary raises on purpose is a `TributaryError` with one of the codes below: a closed set, each with',
    'the HTTP status it maps to, IoT Hub\'s numeric error code where IoT Hub has one, and whether retrying can help.',
    '',
    '- **Service REST API and twin/method responses** answer with the HTTP status and IoT Hub\'s body',
    '  `{ "errorCode": <IoT Hub code>, "message": "…" }`, so the official SDKs recognise the error. Codes without an IoT Hub',
    '  number send the code name as `errorCode` instead.',
    '- **Dead-letter records** (`iot.deadletter`) carry the code name in a header, so a failed record says why it failed.',
    '- **Retriable** errors are retried with backoff by processors and connectors; the others are reported at once',
    '  (a record goes to the dead-letter topic, a request is answered with the error). A thrower may override the',
    '  default for one error when it knows better.',
    '- **Logs** carry the code, the message (which says what to do next) and structured details, never secrets.',
    '',
    `## IoT Hub error codes (${iotHub.length})`,
    '',
    'The conditions IoT Hub defines, with the same codes and statuses as IoT Hub\'s REST and MQTT answers.',
    '',
    ...table(iotHub),
    '',
    `## Tributary error codes (${own.length})`,
    '',
    'Conditions of Tributary\'s own machinery (configuration, Kafka, schemas, store, pipelines) that IoT Hub has no code',
    'for. Over the REST API they answer with the HTTP status shown and the code name as `errorCode`.',
    '',
    ...table(own),
    '',
  ].join('\n');
}

/** Writes the doc (or, with check, only compares); returns whether the file on disk was already current. */
export function writeErrorsDoc(options: { check?: boolean; path?: string } = {}): boolean {
  return writeGeneratedDoc(options.path ?? ERRORS_DOC_PATH, renderErrorsDoc(), options);
}

runDocGenerator(import.meta.url, ERRORS_DOC_PATH, writeErrorsDoc);
