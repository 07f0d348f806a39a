import { Type, type Static } from '@sinclair/typebox';

/** ClickHouse identifiers we create (database names); validated here and again before any DDL is built. */
export const IDENTIFIER_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,62}$';

export const ClickHouseConfigSchema = Type.Object(
  {
    url: Type.String({
      pattern: '^(http|https)://[^\\s/]+',
      expected: 'http or https URL like http://host:8123',
      description: 'ClickHouse HTTP interface (the hub\'s `clickhouse.url`).',
    }),
    database: Type.String({
      pattern: IDENTIFIER_PATTERN,
      expected: 'a ClickHouse database name (letters, digits, underscores)',
      default: 'iot',
      description: 'Database holding `messages`, `twin_changes` and `device_events`; created with the tables at connect.',
    }),
    username: Type.Optional(Type.String({ description: 'ClickHouse user; absent: the server\'s `default` user.' })),
    password: Type.Optional(Type.String({ description: 'Password of `username`.' })),
    layout: Type.Union([Type.Literal('auto'), Type.Literal('legacy'), Type.Literal('modern')], {
      default: 'auto',
      description:
        'Column types of tables the connector creates. `auto`: `modern` (DateTime64(3), LowCardinality, Map) on ' +
        'ClickHouse 22.1 and later, `legacy` (DateTime + epoch milliseconds, plain String, Nested keys/values) before. ' +
        'Existing tables keep the layout they were created with. See docs/analytics.md.',
    }),
    dedupeWindowSeconds: Type.Integer({
      minimum: 0,
      maximum: 7 * 86_400,
      default: 3_600,
      description:
        'How far outside a batch\'s time span the connector looks for rows with the same message id before inserting. ' +
        'Redelivered records carry their original time, so 0 already makes replays exact; the window also catches a ' +
        'device re-sending a message id (QoS 1 retry) up to this long after the first copy.',
    }),
    requestTimeoutMs: Type.Integer({
      minimum: 1_000,
      default: 30_000,
      description: 'Timeout of one HTTP request to ClickHouse; a timed-out insert is retried (and deduplicated).',
    }),
    compression: Type.Boolean({
      default: true,
      description: 'gzip insert bodies and responses (ClickHouse 18.16 and later accept both).',
    }),
  },
  { additionalProperties: false },
);

export type ClickHouseConfig = Static<typeof ClickHouseConfigSchema>;
