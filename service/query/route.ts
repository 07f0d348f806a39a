import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import { histogram } from '../../core/metrics/registry.ts';
import type { Queryable } from '../../core/store/types.ts';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, runTwinQuery } from './run-query.ts';
import { MAX_QUERY_LENGTH } from './tokenizer.ts';

const QueryBody = Type.Object(
  { query: Type.String({ minLength: 1, maxLength: MAX_QUERY_LENGTH, description: "IoT Hub query language, e.g. SELECT * FROM devices WHERE tags.location.region = 'US'" }) },
  { additionalProperties: true, $id: 'QuerySpecification' },
);

const queryDuration = histogram(
  'tributary_service_twin_query_duration_seconds',
  'Time to answer one page of POST /devices/query (parse, compile, run, shape the result).',
  ['outcome'],
  [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
);

function headerValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/**
 * `x-ms-max-item-count`: items per page. IoT Hub's page size is capped (the SDK docs: "up to 1000"); a larger value is
 * served as 1000 rather than refused, since the caller pages on with the continuation token anyway.
 */
function pageSizeOf(header: string | string[] | undefined): number {
  const value = headerValue(header);
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  const size = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(size) || size < 1) {
    throw new TributaryError('IotHubFormatError', `x-ms-max-item-count must be a whole number from 1 to ${MAX_PAGE_SIZE}, not "${value.slice(0, 40)}"`);
  }
  return Math.min(size, MAX_PAGE_SIZE);
}

/**
 * `POST /devices/query` (iothub-wire.md §5.4): the body's query over device or module twins; one page per call.
 * `x-ms-continuation` is set on the response only when another page exists — the SDK treats a present header, even an
 * empty one, as "more results" and would loop.
 */
export const queryRoutes: FastifyPluginAsync<{ store: Queryable }> = async (app, { store }) => {
  app.post<{ Body: { query: string } }>(
    '/devices/query',
    {
      config: { permission: 'RegistryRead' },
      schema: {
        tags: ['twins'],
        summary: 'Query device or module twins (IoT Hub query language), paged with x-ms-max-item-count and x-ms-continuation',
        body: QueryBody,
      },
    },
    async (request, reply) => {
      const stop = queryDuration.startTimer();
      try {
        const pageSize = pageSizeOf(request.headers['x-ms-max-item-count']);
        const continuation = headerValue(request.headers['x-ms-continuation']);
        const page = await runTwinQuery(store, request.body.query, { pageSize, ...(continuation ? { continuation } : {}) });
        stop({ outcome: 'ok' });
        if (page.continuation) void reply.header('x-ms-continuation', page.continuation);
        return reply.header('x-ms-item-type', page.itemType).type('application/json; charset=utf-8').send(page.items);
      } catch (err) {
        stop({ outcome: err instanceof TributaryError && err.status < 500 ? 'rejected' : 'failed' });
        throw err;
      }
    },
  );
};
