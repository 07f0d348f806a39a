/**
 * The D2C envelope (DESIGN.md §5): what IoT Hub stamps on an accepted device-to-cloud message — the system
 * properties the device set, plus the ones only the hub can set (connection device/module id, auth method,
 * generation id, enqueued time) and ours (ingest node, protocol) — as the `DeviceMessage` record.
 */
import type { DeviceMessage, Protocol } from '../../core/serde/records.ts';
import type { DeviceIdentity } from './types.ts';

/** System properties a device may set, by envelope field (adapters map their wire names onto these). */
export interface DeviceSystemProperties {
  messageId?: string;
  correlationId?: string;
  userId?: string;
  to?: string;
  contentType?: string;
  contentEncoding?: string;
  interfaceId?: string;
  componentName?: string;
  outputName?: string;
  /** ISO-8601 as sent. */
  expiryTime?: string;
  creationTime?: string;
}

export interface InboundMessage {
  system: DeviceSystemProperties;
  properties: Record<string, string>;
  body: Buffer;
}

/** IoT Hub counts the body and the properties against the 256 KB limit. */
export function messageSize(m: InboundMessage): number {
  // for…in, not Object.entries: no arrays per message on the ingest hot path.
  let size = m.body.length;
  const props = m.properties;
  for (const k in props) size += Buffer.byteLength(k) + Buffer.byteLength(props[k]!);
  const system = m.system as Record<string, unknown>;
  for (const k in system) {
    const v = system[k];
    if (typeof v === 'string') size += Buffer.byteLength(v);
  }
  return size;
}

/**
 * The message's size when it is above `limit`, else undefined. A string's UTF-16 length × 3 bounds its UTF-8 bytes, so
 * the exact count (a Buffer.byteLength call per key and value, ~0.2 µs per message) is only made near the limit.
 */
export function sizeAbove(m: InboundMessage, limit: number): number | undefined {
  let bound = m.body.length;
  const props = m.properties;
  for (const k in props) bound += 3 * (k.length + props[k]!.length);
  const system = m.system as Record<string, unknown>;
  for (const k in system) {
    const v = system[k];
    if (typeof v === 'string') bound += 3 * v.length;
  }
  if (bound <= limit) return undefined;
  const size = messageSize(m);
  return size > limit ? size : undefined;
}

/** An ISO time → epoch ms; an unparsable time is dropped rather than failing the message (IoT Hub ignores it too). */
function timeOf(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export function buildDeviceMessage(o: {
  identity: DeviceIdentity;
  message: InboundMessage;
  protocol: Protocol;
  ingestNode: string;
  enqueuedTime: number;
}): DeviceMessage {
  const s = o.message.system;
  return {
    messageId: s.messageId ?? null,
    correlationId: s.correlationId ?? null,
    userId: s.userId ?? null,
    to: s.to ?? null,
    contentType: s.contentType ?? null,
    contentEncoding: s.contentEncoding ?? null,
    expiryTime: timeOf(s.expiryTime),
    creationTime: timeOf(s.creationTime),
    enqueuedTime: o.enqueuedTime,
    connectionDeviceId: o.identity.deviceId,
    connectionModuleId: o.identity.moduleId ?? null,
    connectionAuthMethod: o.identity.authMethodJson,
    connectionDeviceGenerationId: o.identity.generationId,
    interfaceId: s.interfaceId ?? null,
    componentName: s.componentName ?? null,
    outputName: s.outputName ?? null,
    ingestNode: o.ingestNode,
    protocol: o.protocol,
    properties: o.message.properties,
    body: o.message.body,
  };
}
