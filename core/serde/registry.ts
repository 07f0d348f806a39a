/**
 * The schema registry contract (DESIGN.md §5): the Confluent subject/version/id model, BACKWARD compatibility.
 * Two implementations pass the same tests: ConfluentSchemaRegistry (HTTP, any Confluent-compatible registry such as
 * Apicurio's ccompat API — the scaled-out path) and InProcessSchemaRegistry (a JSON file in the data dir — the
 * zero-install default). The serde only talks to this interface.
 *
 * Error codes, the same for both:
 * - register: SchemaIncompatible (not BACKWARD-compatible with the subject's latest version), ArgumentInvalid (not
 *   valid Avro), RegistryUnavailable (cannot reach the registry, retriable);
 * - getSchema: SchemaNotFound (unknown id), RegistryUnavailable.
 */

export interface RegisteredSchema {
  /** Global schema id: what the Confluent wire format carries. The same schema under two subjects has one id. */
  readonly id: number;
  readonly subject: string;
  /** 1-based version of the schema within its subject. */
  readonly version: number;
  /** The schema text as the registry stores it. */
  readonly schema: string;
}

export interface SchemaRegistry {
  /**
   * Registers `schemaText` (Avro) as the next version of `subject` and returns its global id. Registering a schema the
   * subject already has returns the existing id and adds no version (idempotent, so start-up can register everything
   * every time). A schema that is not BACKWARD-compatible with the latest version is refused with SchemaIncompatible.
   */
  register(subject: string, schemaText: string): Promise<number>;
  /** The schema text for a global id; SchemaNotFound when the registry does not know it. */
  getSchema(id: number): Promise<string>;
  /** The newest version of a subject, or undefined when the subject has none. */
  latest(subject: string): Promise<RegisteredSchema | undefined>;
  /** Whether `schemaText` could be registered as the next version of `subject` (true for an unknown subject). */
  checkCompatibility(subject: string, schemaText: string): Promise<boolean>;
  /** Releases connections and file handles; the registry must not be used afterwards. */
  close(): Promise<void>;
}
