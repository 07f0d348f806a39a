/**
 * Test helper run as a separate process (`node --import tsx core/serde/decode-child.ts <registry> <base64>…`): decodes
 * framed values with a registry of its own — no caches shared with the process that encoded them — and prints one JSON
 * line per value. `<registry>` is an http(s) URL (ConfluentSchemaRegistry) or `dir:<path>` (InProcessSchemaRegistry).
 */
import { AvroSerde } from './avro-serde.ts';
import { ConfluentSchemaRegistry } from './confluent-registry.ts';
import { InProcessSchemaRegistry } from './in-process-registry.ts';
import type { SchemaRegistry } from './registry.ts';
import { SchemaCatalog } from './schema-catalog.ts';

const [target, ...values] = process.argv.slice(2);
if (target === undefined) throw new Error('usage: decode-child.ts <registry-url | dir:path> <base64>…');
const registry: SchemaRegistry = target.startsWith('dir:')
  ? await InProcessSchemaRegistry.open({ dataDir: target.slice('dir:'.length) })
  : new ConfluentSchemaRegistry({ url: target });
const serde = new AvroSerde(registry, SchemaCatalog.load(), { autoRegister: false });
for (const value of values) {
  const decoded = await serde.decode(Buffer.from(value, 'base64'));
  process.stdout.write(`${JSON.stringify(decoded)}\n`);
}
await registry.close();
