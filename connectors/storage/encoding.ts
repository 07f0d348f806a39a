/**
 * IoT Hub's storage encodings (RoutingStorageContainerProperties.encoding): `avro`, `avrodeflate`, `json`. Each
 * says what one message costs in a file and how a list of messages becomes the file's bytes.
 */
import type { RoutedMessage } from '../runtime/routed-message.ts';
import type { StorageConfig } from './config.ts';
import { IOTHUB_AVRO_SCHEMA, avroContainer, avroSize, jsonLine, toIotHubRecord, type IotHubRecord } from './iothub-record.ts';

export interface EncodedMessage {
  readonly offset: number;
  /** Index in the batch, for reporting failures. */
  readonly index: number;
  readonly record: IotHubRecord;
  /** The JSON line, for json. */
  readonly line: string | undefined;
  readonly size: number;
}

export interface Encoding {
  readonly contentType: string;
  /** Bytes a file of at most `maxBytes` carries besides its messages. */
  overheadBytes(maxBytes: number): number;
  prepare(message: RoutedMessage, at: { offset: number; index: number }): EncodedMessage;
  /** `name` seeds what would otherwise be random in the file (the Avro sync marker). */
  encode(messages: readonly EncodedMessage[], name: string): Promise<Buffer>;
}

/** Avro blocks are flushed at about this many bytes (avroContainer's blockSize). */
const AVRO_BLOCK_BYTES = 1 << 20;

/**
 * Bytes an Avro file carries besides its records: the header — magic (4), the metadata map with avro.schema and
 * avro.codec (the schema JSON plus < 64 bytes of keys, lengths and codec name), the sync marker (16) — and per block
 * two longs (≤ 20 bytes) and a sync marker (16). avsc closes a block when the next record does not fit, and D2C
 * messages are at most 256 KB — a quarter of a block — so blocks are mostly full; 2·⌈size/block⌉ + 2 blocks is ample.
 */
function avroOverhead(maxBytes: number): number {
  const header = 4 + JSON.stringify(IOTHUB_AVRO_SCHEMA).length + 64 + 16;
  return header + 36 * (2 * Math.ceil(maxBytes / AVRO_BLOCK_BYTES) + 2);
}

export function encodingFor(config: Pick<StorageConfig, 'encoding'>): Encoding {
  if (config.encoding === 'json') {
    return {
      // JSON lines; IoT Hub's blobs carry application/json for its JSON encoding too, but a line-delimited body is no JSON document.
      contentType: 'application/x-ndjson',
      overheadBytes: () => 0,
      prepare(message, at) {
        const record = toIotHubRecord(message);
        const line = jsonLine(record, message.bodyText);
        return { ...at, record, line, size: Buffer.byteLength(line) };
      },
      async encode(messages) {
        return Buffer.from(messages.map((m) => m.line).join(''), 'utf8');
      },
    };
  }
  const deflate = config.encoding === 'avrodeflate';
  return {
    contentType: 'application/avro',
    overheadBytes: avroOverhead,
    prepare(message, at) {
      const record = toIotHubRecord(message);
      return { ...at, record, line: undefined, size: avroSize(record) };
    },
    encode(messages, name) {
      return avroContainer(messages.map((m) => m.record), { deflate, seed: name, blockSize: AVRO_BLOCK_BYTES });
    },
  };
}
