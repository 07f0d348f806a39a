/**
 * A routed message as the CloudEvents 1.0 event Event Grid delivers for IoT Hub
 * (learn.microsoft.com/azure/event-grid/event-schema-iot-hub, "Cloud event schema" tab; github.com/cloudevents/spec
 * v1.0 core and JSON format). The `data` shapes are Event Grid's: telemetry carries `body`, `properties` and
 * `systemProperties`; connection state events `deviceConnectionStateEventInfo.sequenceNumber`; lifecycle events the
 * identity as `twin`; all of them `hubName` and `deviceId`.
 *
 * Two deliberate differences from Event Grid:
 * - `source` names the device (`/hubs/<hub>/devices/<id>[/modules/<id>]`), not the hub resource: `id` is the
 *   device's message id when it set one, and CloudEvents makes `source` + `id` the identity consumers deduplicate on,
 *   so two devices reusing an id must not look like one event.
 * - Event Grid has no event types for twin changes, device updates or module lifecycle; IoT Hub routing does, so
 *   those arrive as `Tributary.Devices.*` types (docs/connectors/webhook.md lists them).
 */
import { TributaryError } from '../../core/errors/index.ts';
import type { RoutedMessage } from '../runtime/routed-message.ts';

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

export const EVENT_TYPES = {
  telemetry: 'Microsoft.Devices.DeviceTelemetry',
  deviceConnected: 'Microsoft.Devices.DeviceConnected',
  deviceDisconnected: 'Microsoft.Devices.DeviceDisconnected',
  createDeviceIdentity: 'Microsoft.Devices.DeviceCreated',
  deleteDeviceIdentity: 'Microsoft.Devices.DeviceDeleted',
  updateDeviceIdentity: 'Tributary.Devices.DeviceUpdated',
  createModuleIdentity: 'Tributary.Devices.ModuleCreated',
  deleteModuleIdentity: 'Tributary.Devices.ModuleDeleted',
  updateModuleIdentity: 'Tributary.Devices.ModuleUpdated',
  twinChanged: 'Tributary.Devices.TwinChanged',
} as const;

/** Event Grid prefixes the two content properties; the other system properties keep IoT Hub's routing names. */
const EVENT_GRID_NAMES: Record<string, string> = { 'content-type': 'iothub-content-type', 'content-encoding': 'iothub-content-encoding' };

export function toCloudEvent(message: RoutedMessage, hubName: string): CloudEvent {
  const path = `devices/${message.deviceId}${message.moduleId ? `/modules/${message.moduleId}` : ''}`;
  const source = `/hubs/${encodeURIComponent(hubName)}/devices/${encodeURIComponent(message.deviceId)}${message.moduleId ? `/modules/${encodeURIComponent(message.moduleId)}` : ''}`;
  const { type, data } = typeAndData(message, hubName);
  return { specversion: '1.0', id: message.dedupeId, source, type, subject: path, time: new Date(message.enqueuedTime).toISOString(), datacontenttype: 'application/json', data };
}

function typeAndData(message: RoutedMessage, hubName: string): { type: string; data: Record<string, unknown> } {
  const ids = { hubName, deviceId: message.deviceId, ...(message.moduleId ? { moduleId: message.moduleId } : {}) };
  const opType = message.appProperties.opType ?? '';
  switch (message.source) {
    case 'DeviceMessages': {
      const systemProperties: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.systemProperties)) systemProperties[EVENT_GRID_NAMES[name] ?? name] = value;
      // IoT Hub stamps enrichments on Event Grid messages too, as application properties replacing same-named ones.
      return { type: EVENT_TYPES.telemetry, data: { body: telemetryBody(message), properties: { ...message.appProperties, ...message.enrichments }, systemProperties } };
    }
    case 'DeviceConnectionStateEvents': {
      const type = opType === 'deviceConnected' || opType === 'deviceDisconnected' ? EVENT_TYPES[opType] : undefined;
      if (!type) throw unmappable(message, `connection state event type "${opType}"`);
      const body = eventBody(message);
      return { type, data: { deviceConnectionStateEventInfo: { sequenceNumber: String(body.sequenceNumber ?? message.sourceOffset) }, ...ids } };
    }
    case 'DeviceLifecycleEvents': {
      const type = Object.hasOwn(EVENT_TYPES, opType) && opType.endsWith('Identity') ? EVENT_TYPES[opType as keyof typeof EVENT_TYPES] : undefined;
      if (!type) throw unmappable(message, `lifecycle operation "${opType}"`);
      return { type, data: { twin: eventBody(message), ...ids } };
    }
    case 'TwinChangeEvents':
      return { type: EVENT_TYPES.twinChanged, data: { ...eventBody(message), ...ids } };
  }
}

/**
 * Event Grid: the body is JSON when the message says application/json in UTF-8 and parses; otherwise the bytes are
 * sent base64-encoded as a string.
 */
function telemetryBody(message: RoutedMessage): unknown {
  if (message.bodyText !== null) {
    try {
      return JSON.parse(message.bodyText);
    } catch {
      // Labelled JSON but is not: fall through to base64, as IoT Hub does for bodies it cannot read.
    }
  }
  return message.body.toString('base64');
}

function eventBody(message: RoutedMessage): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(message.bodyText ?? message.body.toString('utf8'));
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw unmappable(message, 'an event body that is not a JSON object');
}

function unmappable(message: RoutedMessage, what: string): TributaryError {
  return new TributaryError('ArgumentInvalid', `${message.source} record ${message.dedupeId} has ${what}, which has no CloudEvents type; it is dead-lettered`);
}
