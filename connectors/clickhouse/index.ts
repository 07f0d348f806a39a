import { defineConnector } from '../runtime/define-connector.ts';
import { ClickHouseSink } from './clickhouse-sink.ts';
import { ClickHouseConfigSchema } from './config.ts';

export { ClickHouseConfigSchema, type ClickHouseConfig } from './config.ts';
export { ClickHouseSink } from './clickhouse-sink.ts';

/**
 * The analytics sink (DESIGN.md §5): routed device messages, twin changes and device events land in ClickHouse's
 * `messages`, `twin_changes` and `device_events` tables, once each. Tables, types and queries: docs/analytics.md.
 */
export const clickhouseConnector = defineConnector({
  name: 'clickhouse',
  description: 'Writes routed messages, twin changes and device events to ClickHouse tables (one row each, deduplicated by message id).',
  configSchema: ClickHouseConfigSchema,
  create: (config, deps) => new ClickHouseSink(config, deps),
});
