export { ERROR_CODES, isErrorCode, type ErrorCode, type ErrorCodeSpec } from './codes.ts';
export { TributaryError, toTributaryError, type TributaryErrorOptions } from './tributary-error.ts';
