import { ERROR_CODES, isErrorCode, type ErrorCode, type ErrorCodeSpec } from './codes.ts';

export interface TributaryErrorOptions {
  cause?: unknown;
  /** Overrides the code's default (e.g. a normally retriable failure known to be permanent). */
  retriable?: boolean;
  /** Structured details for logs and error bodies (never secrets). */
  details?: Record<string, unknown>;
}

/** The one error type the hub throws on purpose: a code from the closed set, a message that says what to do next. */
export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.retriable = options.retriable ?? ERROR_CODES[code].retriable;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  get iotHubCode(): number | undefined {
    const spec: ErrorCodeSpec = ERROR_CODES[this.code];
    return spec.iotHubCode;
  }

  /** IoT Hub's REST/twin error body shape: `{ errorCode, message }` with the numeric code where one exists. */
  toIotHubBody(): { errorCode: number | string; message: string } {
    return { errorCode: this.iotHubCode ?? this.code, message: this.message };
  }
}

/** Wraps anything thrown into a TributaryError, keeping coded errors as they are. */
export function toTributaryError(err: unknown, fallback: ErrorCode = 'ServerError'): TributaryError {
  if (err instanceof TributaryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = typeof err === 'object' && err !== null && 'code' in err && isErrorCode(err.code) ? err.code : fallback;
  return new TributaryError(code, message, { cause: err });
}
