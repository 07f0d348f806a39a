import { randomUUID } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { TributaryError, toTributaryError } from '../core/errors/index.ts';
import type { Logger } from '../core/logging/logger.ts';

/**
 * IoT Hub's REST error body. The `azure-iothub` SDK reads `Message` and takes the error name between `ErrorCode:` and
 * `;` (iothub-wire.md §5), so that prefix is load-bearing; `errorCode` (numeric where IoT Hub has one) and `message`
 * are what IoT Hub's newer API versions add and what people read.
 */
export interface IotHubErrorBody {
  Message: string;
  ExceptionMessage: string;
  errorCode: number | string;
  message: string;
  trackingId: string;
  timestampUtc: string;
}

export function iotHubErrorBody(error: TributaryError, trackingId: string = randomUUID()): IotHubErrorBody {
  const timestampUtc = new Date().toISOString();
  return {
    Message: `ErrorCode:${error.code};${error.message}`,
    ExceptionMessage: `Tracking ID:${trackingId}-TimeStamp:${timestampUtc}`,
    errorCode: error.iotHubCode ?? error.code,
    message: error.message,
    trackingId,
    timestampUtc,
  };
}

/** Maps fastify's own failures (schema validation, bad JSON, body limit, unknown content type) onto IoT Hub codes. */
export function toServiceError(err: unknown): TributaryError {
  if (err instanceof TributaryError) return err;
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation) {
    return new TributaryError('ArgumentInvalid', `request ${fe.validationContext ?? 'body'} is invalid: ${fe.message ?? ''}`);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TributaryError('MessageTooLarge', 'request body is larger than the hub accepts (1 MiB)');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TributaryError('IotHubFormatError', 'unsupported Content-Type; send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new TributaryError('ArgumentNull', 'request body is empty; send a JSON document');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case undefined:
      if (fe.statusCode === 400 || err instanceof SyntaxError) {
        return new TributaryError('ArgumentInvalid', `request body is not valid JSON: ${fe.message ?? ''}`);
      }
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode === 404) {
    return new TributaryError('ArgumentInvalid', fe.message ?? 'not found');
  }
  return toTributaryError(err);
}

export function sendError(error: TributaryError, request: FastifyRequest, reply: FastifyReply, logger: Logger): void {
  const trackingId = String(request.headers['request-id'] ?? request.id);
  if (error.status >= 500) logger.error({ err: error, trackingId, url: request.url }, 'service request failed');
  else logger.debug({ code: error.code, trackingId, url: request.url }, 'service request rejected');
  void reply.code(error.status).type('application/json; charset=utf-8').send(iotHubErrorBody(error, trackingId));
}
