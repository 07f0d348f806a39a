/**
 * The closed set of error codes Tributary reports. Each code carries the HTTP status and, where IoT Hub defines one,
 * IoT Hub's numeric error code (iothub-wire.md §4.4, §5, §7), so REST bodies, MQTT twin error bodies and dead-letter
 * headers all speak the codes the official SDKs and operators already know.
 *
 * docs/errors.md is kept in sync with this table by core/errors/codes.test.ts: add a code here, document it there.
 */
export interface ErrorCodeSpec {
  /** HTTP status used by REST answers and twin/method response topics. */
  readonly status: number;
  /** IoT Hub's six-digit error code, when IoT Hub has one for this condition. */
  readonly iotHubCode?: number;
  /** Whether repeating the same operation later can succeed (broker down, throttled) or never will (bad input). */
  readonly retriable: boolean;
  /** One line for docs/errors.md: when the code is raised and what the caller should do. */
  readonly description: string;
}

export const ERROR_CODES = {
  // ---- IoT Hub codes -------------------------------------------------------------------------------------------
  ArgumentInvalid: { status: 400, iotHubCode: 400004, retriable: false, description: 'The request body or a parameter is invalid (unparsable, fails its schema, a bad device id); fix the request.' },
  InvalidProtocolVersion: { status: 400, iotHubCode: 400001, retriable: false, description: 'The api-version is missing or not supported; send one the hub accepts.' },
  DeviceInvalidResultCount: { status: 400, iotHubCode: 400002, retriable: false, description: 'A bulk or query request exceeded its item limit; send fewer items per request.' },
  InvalidOperation: { status: 400, iotHubCode: 400003, retriable: false, description: 'The operation is not allowed in the current state (e.g. a module on a module).' },
  ArgumentNull: { status: 400, iotHubCode: 400005, retriable: false, description: 'A required parameter or the request body is missing; send it.' },
  IotHubFormatError: { status: 400, iotHubCode: 400006, retriable: false, description: 'A header or property is in the wrong format (e.g. an unparsable If-Match or content type).' },
  ConnectionForcefullyClosedOnNewConnection: { status: 400, iotHubCode: 400027, retriable: true, description: 'A newer connection with the same device id replaced this one.' },
  // IoT Hub answers authentication failures with 401002 today; 401003 is the older code the docs still list.
  IotHubUnauthorizedAccess: { status: 401, iotHubCode: 401002, retriable: false, description: 'The SAS token or certificate is invalid, expired, unknown, or lacks the permission the operation needs; renew or fix the credentials.' },
  IotHubQuotaExceeded: { status: 403, iotHubCode: 403002, retriable: false, description: 'The daily message quota is used up; wait for the next day or raise the quota.' },
  DeviceMaximumQueueDepthExceeded: { status: 403, iotHubCode: 403004, retriable: true, description: 'The device already has 50 pending cloud-to-device messages; wait until it takes some.' },
  DeviceMaximumActiveFileUploadLimitExceeded: { status: 403, iotHubCode: 403006, retriable: true, description: 'The device has 10 file uploads in progress; complete one first.' },
  DeviceNotFound: { status: 404, iotHubCode: 404001, retriable: false, description: 'No device with this id is registered.' },
  ModuleNotFound: { status: 404, iotHubCode: 404010, retriable: false, description: 'No module with this id is registered on the device.' },
  DeviceNotOnline: { status: 404, iotHubCode: 404103, retriable: true, description: 'The device is not connected, so a direct method cannot reach it.' },
  DeviceAlreadyExists: { status: 409, iotHubCode: 409001, retriable: false, description: 'A device with this id already exists; use update instead of create.' },
  ModuleAlreadyExistsOnDevice: { status: 409, iotHubCode: 409301, retriable: false, description: 'A module with this id already exists on the device.' },
  PreconditionFailed: { status: 412, iotHubCode: 412001, retriable: false, description: 'The If-Match etag does not match the current version; read again and retry the update.' },
  MessageTooLarge: { status: 413, iotHubCode: 413001, retriable: false, description: 'The message exceeds the size limit (256 KB D2C, 64 KB C2D).' },
  TooManyDevices: { status: 413, iotHubCode: 413002, retriable: false, description: 'A bulk operation names more devices than allowed.' },
  DeviceMessageLockLost: { status: 412, iotHubCode: 412002, retriable: false, description: 'A cloud-to-device message was completed after its lock expired; it will be delivered again.' },
  ThrottlingException: { status: 429, iotHubCode: 429001, retriable: true, description: 'A per-device or per-hub rate limit was hit; back off and retry.' },
  ServerError: { status: 500, iotHubCode: 500001, retriable: true, description: 'An unexpected internal error; the logs carry the cause.' },
  ServiceUnavailable: { status: 503, iotHubCode: 503001, retriable: true, description: 'A dependency (Kafka, store, registry) is unavailable; retry with backoff.' },
  GatewayTimeout: { status: 504, iotHubCode: 504101, retriable: true, description: 'The device did not answer a direct method within its timeout.' },

  // ---- Tributary's own codes (no IoT Hub equivalent) -----------------------------------------------------------
  RouteNotFound: { status: 404, retriable: false, description: 'No route (or routing endpoint) with this name exists.' },
  CertificateNotFound: { status: 404, retriable: false, description: 'No CA certificate with this name is registered.' },
  ConfigInvalid: { status: 500, retriable: false, description: 'Start-up configuration is invalid; the message names the setting and what is wrong with it.' },
  LogUnavailable: { status: 503, retriable: true, description: 'The Kafka log (or the embedded log) cannot be reached or refused a write.' },
  LogClosed: { status: 503, retriable: false, description: 'An operation was attempted on a log client that has been closed.' },
  TopicNotFound: { status: 500, retriable: false, description: 'A topic the operation needs does not exist; create it (topics are created at start-up).' },
  RecordTooLarge: { status: 413, retriable: false, description: 'A record exceeds the log\'s maximum record size.' },
  SchemaIncompatible: { status: 409, retriable: false, description: 'A schema change is not BACKWARD-compatible with the registered versions of its subject.' },
  SchemaNotFound: { status: 500, retriable: false, description: 'A record references a schema id the registry does not know.' },
  SerializationFailed: { status: 400, retriable: false, description: 'A value does not match its Avro schema, or bytes are not in the Confluent wire format.' },
  RegistryUnavailable: { status: 503, retriable: true, description: 'The schema registry cannot be reached.' },
  StoreUnavailable: { status: 503, retriable: true, description: 'The database (PostgreSQL or PGlite) cannot be reached.' },
  MigrationFailed: { status: 500, retriable: false, description: 'A store migration failed or the database was migrated by a newer version.' },
  ProcessingFailed: { status: 500, retriable: false, description: 'A processor threw on a record; the record went to the dead-letter topic with this code.' },
  SinkWriteFailed: { status: 503, retriable: true, description: 'A connector could not write a batch to its external system.' },
  SinkRecordRejected: { status: 400, retriable: false, description: 'The external system refused a record for good (a webhook answered 4xx, RabbitMQ returned it as unroutable); the record was dead-lettered — fix the endpoint or the record and replay it.' },
  InfraUnavailable: { status: 503, retriable: true, description: 'A service the tests or tools need (Kafka, registry, ClickHouse) is not running; run npm run infra:up.' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
