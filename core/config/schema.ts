import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The hub's configuration, declared once: this schema gives the TypeScript type (`Config`), start-up validation with
 * path-precise messages (load-config.ts) and docs/configuration.md (generate-docs.ts). Every setting has a
 * description and either a default or a documented meaning when absent. Each one is also an environment variable
 * derived from its path (settings.ts): `schemaRegistry.url` → `TRIBUTARY_SCHEMA_REGISTRY_URL`.
 *
 * `expected` (our own annotation, ignored by TypeBox) is the wording used in error messages and the docs'
 * type column, so a rejected value reads `kafka.brokers[1]: expected host:port, got "x"`.
 */

const ROLES = ['ingest', 'service', 'processors', 'connectors', 'provisioning'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const section = <T extends Parameters<typeof Type.Object>[0]>(description: string, properties: T) =>
  Type.Object(properties, { description, default: {}, additionalProperties: false });

const port = (description: string, defaultPort: number) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort, expected: 'a port number 0–65535', description });

const url = (schemes: readonly string[], example: string, description: string) =>
  Type.String({
    pattern: `^(${schemes.join('|')})://[^\\s/]+`,
    expected: `${schemes.join(' or ')} URL like ${example}`,
    description,
  });

/** `host:port`, host being a name, an IPv4 address or a bracketed IPv6 address (Kafka's bootstrap.servers form). */
const hostPort = Type.String({
  pattern: '^([A-Za-z0-9._-]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$',
  expected: 'host:port',
});

const hostName = Type.String({ pattern: '^[A-Za-z0-9._:-]+$', expected: 'a host name or IP address' });

export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({
      minLength: 1,
      default: './.tributary',
      description:
        'Directory for everything the hub keeps locally: the embedded log, the PGlite store (`store/`), generated CA ' +
        'and server certificates, file-sink output and infra logs. Relative paths are relative to the working directory.',
    }),
    hubName: Type.String({
      pattern: '^[A-Za-z0-9-]{3,50}$',
      expected: '3–50 letters, digits or hyphens',
      default: 'tributary',
      description: 'The hub\'s name, as IoT Hub\'s: used in storage paths (`{hub}/{partition}/…`), event sources and metrics labels.',
    }),
    hostNames: Type.Array(hostName, {
      minItems: 1,
      expected: 'a list of host names or IP addresses',
      default: ['localhost', '127.0.0.1'],
      description:
        'Host names and IP addresses devices and services use to reach the hub. The generated server certificate ' +
        'covers all of them; the first one is the `HostName` in printed connection strings.',
    }),
    roles: Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), {
      minItems: 1,
      uniqueItems: true,
      default: [...ROLES],
      description:
        'Which roles this process runs. One process runs all of them by default; in production run each role as its ' +
        'own horizontally scaled deployment (they share work through Kafka consumer groups).',
    }),
    log: section('Logging.', {
      level: Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), {
        default: 'info',
        description: 'Minimum level of the JSON log lines written to stdout (pino levels).',
      }),
    }),
    kafka: section('The Kafka log.', {
      brokers: Type.Optional(Type.Array(hostPort, {
        minItems: 1,
        description:
          'Kafka bootstrap brokers. Absent: the embedded log (durable segment files under `dataDir`), which serves one ' +
          'process only — set brokers to run several nodes.',
      })),
      partitions: Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 6,
        description:
          'Partitions of each hub topic, created at start-up (the embedded log too). It caps how many processes of one ' +
          'role share the work; existing topics keep their count.',
      }),
      clientId: Type.String({
        minLength: 1,
        default: 'tributary',
        description: 'Kafka client id prefix, visible in broker logs and quotas; the role is appended per client.',
      }),
      producerThread: Type.Boolean({
        default: true,
        description:
          'Run the Kafka producer on a worker thread: encoding produce requests leaves the thread that serves devices ' +
          'and processors, so a node uses a second core. Off: one thread does everything (less memory, one core).',
      }),
    }),
    schemaRegistry: section('The Avro schema registry.', {
      url: Type.Optional(url(['http', 'https'], 'http://host:8081/apis/ccompat/v7',
        'Base URL of a Confluent-compatible Schema Registry. Absent: an in-process registry (one node only; ' +
        'schema ids are then only meaningful to this hub).')),
    }),
    database: section('The registry and twin store.', {
      url: Type.Optional(url(['postgres', 'postgresql'], 'postgres://user:password@host:5432/tributary',
        'PostgreSQL connection string. Absent: PGlite, an in-process PostgreSQL kept in `<dataDir>/store` ' +
        '(one process only). The schema is migrated on start.')),
    }),
    clickhouse: section('The ClickHouse analytics sink.', {
      url: Type.Optional(url(['http', 'https'], 'http://host:8123',
        'ClickHouse HTTP interface. Absent: the ClickHouse connector does not run.')),
      database: Type.String({
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
        expected: 'a ClickHouse database name (letters, digits, underscores)',
        default: 'iot',
        description: 'Database holding the `messages`, `twin_changes` and `device_events` tables; created if missing.',
      }),
    }),
    amqp: section('The RabbitMQ (AMQP 0-9-1) connector.', {
      url: Type.Optional(url(['amqp', 'amqps'], 'amqp://user:password@host:5672/vhost',
        'RabbitMQ connection URL for routing endpoints of type queue. Absent: the RabbitMQ connector does not run.')),
    }),
    tls: section('The hub\'s TLS identity. Absent files: a CA and a server certificate for `hostNames` are generated in `<dataDir>/tls` on first start.', {
      certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM server certificate (with its chain) to use instead of the generated one.' })),
      keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of `tls.certFile`.' })),
      caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA certificate devices must trust, printed at start-up.' })),
    }),
    ports: section('Listening ports of the ingest and service roles.', {
      https: port(
        'HTTPS port for device HTTPS, the service REST API, MQTT over WebSockets and file upload. The official SDKs ' +
          'always use 443, so change it only behind a proxy; 0 picks a free port (tests).',
        443,
      ),
      mqtts: port('MQTT over TLS port; 8883 is what the SDKs use unless a port is given in `GatewayHostName`. 0 picks a free port.', 8883),
    }),
    limits: section(
      'IoT Hub\'s throttles (iothub-wire.md §7.2), off unless set. Over-limit operations first wait (traffic shaping, up ' +
        'to `limits.shapingWindowMs`), then are refused with 429001 ThrottlingException; over MQTT that closes the ' +
        'connection, as IoT Hub does. Hub-wide limits are shared by every ingest node through the store (each node gets ' +
        'a demand-weighted share, renegotiated every 2 s).',
      {
        d2cMessagesPerSecond: Type.Optional(Type.Number({
          exclusiveMinimum: 0, expected: 'a positive number',
          description: 'Device-to-cloud messages per second for the whole hub (IoT Hub S1: 12/s/unit, at least 100/s; S3: 6,000/s/unit).',
        })),
        connectionsPerSecond: Type.Optional(Type.Number({
          exclusiveMinimum: 0, expected: 'a positive number',
          description: 'New device connections per second for the whole hub (same tiers as D2C sends).',
        })),
        deviceMessagesPerSecond: Type.Optional(Type.Number({
          exclusiveMinimum: 0, expected: 'a positive number',
          description: 'Device-to-cloud messages per second of one device or module (IoT Hub documents none; a guard against one runaway device).',
        })),
        shapingWindowMs: Type.Integer({
          minimum: 0, maximum: 60_000, default: 1000, expected: 'milliseconds 0–60000',
          description: 'How long an over-limit operation may wait for its turn before it is refused.',
        }),
      },
    ),
    ops: section('The operations endpoint (plain HTTP, bind it to a private interface).', {
      port: port('Port serving `/healthz` (alive), `/readyz` (dependencies answer) and Prometheus `/metrics`; 0 picks a free port.', 9090),
    }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/** The annotation read by error messages and docs (see the module comment). */
export function expectedOf(schema: TSchema): string | undefined {
  const expected: unknown = (schema as { expected?: unknown }).expected;
  return typeof expected === 'string' ? expected : undefined;
}
