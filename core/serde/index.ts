/** Avro serde, schema catalog and schema registries (DESIGN.md §5); see schemas/README.md. */
export { AvroSerde, registerAllSchemas, type AvroSerdeOptions } from './avro-serde.ts';
export { ConfluentSchemaRegistry, type ConfluentSchemaRegistryOptions } from './confluent-registry.ts';
export { InProcessSchemaRegistry, REGISTRY_FILE_NAME, type InProcessSchemaRegistryOptions } from './in-process-registry.ts';
export type { RegisteredSchema, SchemaRegistry } from './registry.ts';
export {
  ROUTE_TOPIC_PREFIX, SCHEMAS_DIR, SchemaCatalog, TOPICS, isRouteTopic, subjectForTopic,
  type CatalogSchema, type SubjectNameStrategy,
} from './schema-catalog.ts';
export { HEADER_SIZE, MAGIC_BYTE, readSchemaId, writeHeader } from './wire-format.ts';
export type * from './records.ts';
