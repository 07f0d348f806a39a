/**
 * The Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian integer, then the Avro binary body.
 * Every Avro value on the log carries it, so any Confluent-compatible consumer (Kafka Connect, ksqlDB, kcat -s avro)
 * reads Tributary's topics, and any reader finds the writer's schema by id.
 */
import { TributaryError } from '../errors/index.ts';

export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;

/** Writes the magic byte and schema id into the first HEADER_SIZE bytes of `target` (the body follows them). */
export function writeHeader(target: Buffer, schemaId: number): void {
  target.writeUInt8(MAGIC_BYTE, 0);
  target.writeUInt32BE(schemaId, 1);
}

/** The schema id of a framed value; SerializationFailed when the bytes are not in the Confluent wire format. */
export function readSchemaId(buffer: Buffer): number {
  if (!Buffer.isBuffer(buffer) || buffer.length < HEADER_SIZE) {
    throw new TributaryError('SerializationFailed', `Value is ${Buffer.isBuffer(buffer) ? `${buffer.length} bytes` : typeof buffer}, too short for the Confluent wire format (magic byte, 4-byte schema id, Avro body); was it written by an Avro serializer?`);
  }
  const magic = buffer.readUInt8(0);
  if (magic !== MAGIC_BYTE) {
    throw new TributaryError('SerializationFailed', `Value starts with byte ${magic}, not the Confluent magic byte 0; it was not written in the Confluent wire format (plain JSON or a header-id serializer?).`);
  }
  return buffer.readUInt32BE(1);
}

/** The Avro body of a framed value (a view, not a copy). */
export function bodyOf(buffer: Buffer): Buffer {
  return buffer.subarray(HEADER_SIZE);
}
