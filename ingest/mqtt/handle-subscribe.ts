/**
 * SUBSCRIBE / UNSUBSCRIBE within IoT Hub's namespace (iothub-wire.md §2.2, §2.8):
 * - only IoT Hub's five topic filters, and only the connection's own device/module ids; anything else closes the
 *   connection — a SUBACK 0x80 would be invisible to the SDK (wire §0.6), closing is the refusal it notices;
 * - QoS 2 is granted as QoS 1; at most 5 subscriptions per connection (more closes it);
 * - with CleanSession 0 the set is written to the session store before the SUBACK, so a reconnect through any node
 *   finds it (wire §0.4).
 * MQTT 5 clients see SUBACK failures, so they get a reason code per filter instead of a closed connection: 0x8F not an
 * IoT Hub filter, 0x87 another identity's, 0x97 beyond 5 subscriptions (IoT Hub's MQTT 5 answer), 0x9E shared.
 */
import type { ISubackPacket, ISubscribePacket, IUnsubscribePacket } from 'mqtt-packet';
import { isOwnNamespace, namespaceViolation } from '../gateway/authorize.ts';
import type { StoredSubscription } from '../gateway/session-store.ts';
import type { DeviceIdentity } from '../gateway/types.ts';
import type { MqttConnection } from './connection.ts';
import { parseSubscriptionTopic, type SubscriptionKind } from './topics.ts';
import { RC } from './mqtt5.ts';

export const MAX_SUBSCRIPTIONS = 5;

export interface ActiveSubscription {
  topic: string;
  kind: SubscriptionKind;
  qos: 0 | 1;
}

/** Why `filter` may not be used by `identity`, or undefined when it may. */
function check(identity: DeviceIdentity, filter: string): { kind: SubscriptionKind } | { error: string } {
  const parsed = parseSubscriptionTopic(filter);
  if (parsed === undefined) return { error: `'${filter.slice(0, 200)}' is not an IoT Hub topic filter` };
  if (parsed.address && !isOwnNamespace(identity, parsed.address)) return { error: namespaceViolation(identity, parsed.address) };
  return { kind: parsed.kind };
}

/** Re-applies stored subscriptions on reconnect; ones no longer allowed (e.g. the id changed) are dropped. */
export function restoreSubscriptions(conn: MqttConnection, identity: DeviceIdentity, stored: StoredSubscription[]): void {
  for (const s of stored.slice(0, MAX_SUBSCRIPTIONS)) {
    const result = check(identity, s.topic);
    if ('error' in result) {
      conn.log.warn({ device: conn.clientId, topic: s.topic, reason: result.error }, 'stored subscription dropped');
      continue;
    }
    conn.subscriptions.set(s.topic, { topic: s.topic, kind: result.kind, qos: s.qos });
  }
}

function stored(conn: MqttConnection): StoredSubscription[] {
  return [...conn.subscriptions.values()].map((s) => ({ topic: s.topic, qos: s.qos }));
}

/** Persists (CleanSession 0) and then acknowledges; the connection is blocked meanwhile so acks stay in order. */
function persistThen(conn: MqttConnection, ack: () => void): void {
  const identity = conn.identity;
  if (conn.clean || identity === undefined) {
    ack();
    return;
  }
  conn.block();
  const owner = identity.moduleId ? { deviceId: identity.deviceId, moduleId: identity.moduleId } : { deviceId: identity.deviceId };
  conn.gateway.sessions.save(conn.clientId, owner, stored(conn)).then(
    () => {
      ack();
      conn.unblock();
    },
    (err: unknown) => {
      conn.log.warn({ err, device: conn.clientId }, 'session not saved');
      conn.close(`session state could not be saved: ${(err as Error).message}`);
    },
  );
}

export function handleSubscribe(conn: MqttConnection, packet: ISubscribePacket): void {
  const identity = conn.identity;
  if (identity === undefined) return conn.close('SUBSCRIBE before CONNECT completed');
  if (conn.v5 !== undefined) return subscribeV5(conn, identity, packet);
  const granted: number[] = [];
  for (const sub of packet.subscriptions) {
    const result = check(identity, sub.topic);
    if ('error' in result) return conn.close(`subscription refused: ${result.error}`);
    const qos: 0 | 1 = sub.qos >= 1 ? 1 : 0;
    conn.subscriptions.set(sub.topic, { topic: sub.topic, kind: result.kind, qos });
    granted.push(qos);
  }
  if (conn.subscriptions.size > MAX_SUBSCRIPTIONS) {
    return conn.close(`more than ${MAX_SUBSCRIPTIONS} subscriptions (IoT Hub's limit per device)`);
  }
  persistThen(conn, () => conn.write({ cmd: 'suback', messageId: packet.messageId ?? 0, granted }));
}

/** MQTT 5: one reason code per filter; refused filters leave the others (and the connection) standing. */
function subscribeV5(conn: MqttConnection, identity: DeviceIdentity, packet: ISubscribePacket): void {
  // The CONNACK said Subscription Identifiers Available = 0, so one is a protocol error (MQTT 5.0 §3.2.2.3.12).
  if (packet.properties?.subscriptionIdentifier !== undefined) {
    return conn.close('subscription identifier used; the hub does not support them', { code: RC.subscriptionIdentifiersNotSupported });
  }
  const granted: number[] = [];
  const refused: string[] = [];
  for (const sub of packet.subscriptions) {
    const parsed = parseSubscriptionTopic(sub.topic);
    let code: number;
    if (parsed === undefined) {
      code = sub.topic.startsWith('$share/') ? RC.sharedSubscriptionsNotSupported : RC.topicFilterInvalid;
      refused.push(`'${sub.topic.slice(0, 200)}' is not an IoT Hub topic filter`);
    } else if (parsed.address && !isOwnNamespace(identity, parsed.address)) {
      code = RC.notAuthorized;
      refused.push(namespaceViolation(identity, parsed.address));
    } else if (!conn.subscriptions.has(sub.topic) && conn.subscriptions.size >= MAX_SUBSCRIPTIONS) {
      code = RC.quotaExceeded;
      refused.push(`more than ${MAX_SUBSCRIPTIONS} subscriptions (IoT Hub's limit per device)`);
    } else {
      const qos: 0 | 1 = sub.qos >= 1 ? 1 : 0;
      conn.subscriptions.set(sub.topic, { topic: sub.topic, kind: parsed.kind, qos });
      code = qos;
    }
    granted.push(code);
  }
  const suback: ISubackPacket = { cmd: 'suback', messageId: packet.messageId ?? 0, granted };
  if (refused.length > 0 && conn.v5?.problemInformation) suback.properties = { reasonString: refused.join('; ').slice(0, 240) };
  persistThen(conn, () => conn.write(suback));
}

export function handleUnsubscribe(conn: MqttConnection, packet: IUnsubscribePacket): void {
  if (conn.identity === undefined) return conn.close('UNSUBSCRIBE before CONNECT completed');
  // MQTT 5 UNSUBACK: a reason code per filter, 0x11 for one that was not subscribed.
  const granted: number[] = [];
  for (const topic of packet.unsubscriptions) granted.push(conn.subscriptions.delete(topic) ? RC.success : RC.noSubscriptionExisted);
  persistThen(conn, () => conn.write({ cmd: 'unsuback', messageId: packet.messageId ?? 0, granted: conn.v5 ? granted : [] }));
}
