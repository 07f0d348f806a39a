import type { TopicSpec } from './types.ts';

/**
 * The hub's topics (DESIGN.md §5). Every device-scoped record is keyed by device id, so one device's traffic stays in
 * one partition and in order. Route endpoints get one topic each: `iot.route.<endpoint>`.
 */
export const TOPICS = {
  deviceMessages: 'iot.device.messages',
  deviceMessagesEnriched: 'iot.device.messages.enriched',
  twinUpdates: 'iot.twin.updates',
  twinChanges: 'iot.twin.changes',
  deviceLifecycle: 'iot.device.lifecycle',
  deviceConnections: 'iot.device.connections',
  cloudCommands: 'iot.cloud.commands',
  deviceReplies: 'iot.device.replies',
  deadLetter: 'iot.deadletter',
} as const;

export const ROUTE_TOPIC_PREFIX = 'iot.route.';

/** Endpoint names become topic names, so they are held to what both IoT Hub and Kafka accept. */
export function routeTopic(endpoint: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(endpoint)) {
    throw new RangeError(`endpoint name "${endpoint}" must be 1-128 letters, digits, '-' or '_'`);
  }
  return `${ROUTE_TOPIC_PREFIX}${endpoint}`;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Topic specs created at start-up; `partitions` bounds how many processes of one role can share the work. */
export function coreTopicSpecs(partitions: number): TopicSpec[] {
  return [
    // IoT Hub's built-in endpoint keeps D2C messages 1-7 days; a week here, so a replay can rebuild any sink.
    { name: TOPICS.deviceMessages, partitions, config: { 'retention.ms': String(7 * DAY_MS) } },
    { name: TOPICS.deviceMessagesEnriched, partitions, config: { 'retention.ms': String(7 * DAY_MS) } },
    { name: TOPICS.twinUpdates, partitions, config: { 'retention.ms': String(7 * DAY_MS) } },
    { name: TOPICS.twinChanges, partitions, config: { 'retention.ms': String(7 * DAY_MS) } },
    { name: TOPICS.deviceLifecycle, partitions, config: { 'retention.ms': String(7 * DAY_MS) } },
    { name: TOPICS.deviceConnections, partitions, config: { 'retention.ms': String(7 * DAY_MS) } },
    // Commands expire on their own (C2D TTL is at most 2 days in IoT Hub); the store keeps what is still pending.
    { name: TOPICS.cloudCommands, partitions, config: { 'retention.ms': String(2 * DAY_MS) } },
    { name: TOPICS.deviceReplies, partitions, config: { 'retention.ms': String(2 * DAY_MS) } },
    // Dead letters wait for a human: keep them a month.
    { name: TOPICS.deadLetter, partitions, config: { 'retention.ms': String(30 * DAY_MS) } },
  ];
}
