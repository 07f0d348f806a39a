/**
 * Where the integration tests find the real services: the addresses infra/up.sh starts them on, overridable with
 * the same TRIBUTARY_* variables the hub itself reads.
 */
import { randomBytes } from 'node:crypto';

export const services = {
  kafkaBrokers: (process.env.TRIBUTARY_KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  schemaRegistryUrl: process.env.TRIBUTARY_SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  clickhouseUrl: process.env.TRIBUTARY_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
  databaseUrl: process.env.TRIBUTARY_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tributary',
  amqpUrl: process.env.TRIBUTARY_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/tributary',
};

/** A name no other test run uses, so tests can share one broker, registry and database. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what` in the message. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}
