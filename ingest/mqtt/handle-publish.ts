/**
 * Device→hub PUBLISH (iothub-wire.md §2.2–§2.3, §2.8):
 * - QoS 2 closes the connection (IoT Hub does not support it); RETAIN is not stored, the message gains `mqtt-retain`;
 * - telemetry: own namespace only, property bag → envelope, throttles (shaping delay, then refusal), 256 KB limit,
 *   produce to the log; QoS 1 is PUBACKed only once the log acknowledged the record, in arrival order;
 * - twin GET / reported PATCH and method responses are forwarded as records for the twins and methods roles.
 * Any refusal closes the connection with a logged reason: over MQTT that is the only error a device sees (wire §7.2).
 * MQTT 5 (mqtt5.ts): a QoS 1 refusal is a PUBACK reason code instead, and the message's v5 properties are mapped.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { isOwnNamespace, namespaceViolation } from '../gateway/authorize.ts';
import type { InboundMessage } from '../gateway/envelope.ts';
import type { MqttConnection } from './connection.ts';
import { applyPublishProperties, disconnectCodeFor, PublishRefusal, RC } from './mqtt5.ts';
import { parseDeviceBag } from './property-bag.ts';
import { parsePublishTopic, type TopicAddress } from './topics.ts';

function payloadOf(packet: IPublishPacket): Buffer {
  const p = packet.payload;
  return Buffer.isBuffer(p) ? p : Buffer.from(p);
}

/** Chains `work` into the connection's PUBACK order; a failure closes the connection (the device retries). */
function acknowledgeAfter(conn: MqttConnection, packet: IPublishPacket, work: Promise<void>, what: string): void {
  const slot = conn.enqueueAck(packet.messageId ?? 0, packet.qos === 1 ? 1 : 0, what);
  work.then(() => conn.written(slot, undefined), (err: unknown) => conn.written(slot, err as Error));
}

function inboundTelemetry(packet: IPublishPacket, bag: string): InboundMessage {
  const parsed = parseDeviceBag(bag);
  const properties = parsed.properties;
  if (packet.retain) properties['mqtt-retain'] = 'true';
  const message = { system: parsed.system, properties, body: payloadOf(packet) };
  // Only MQTT 5 packets carry properties (mqtt-packet sets none at level 4).
  if (packet.properties !== undefined) applyPublishProperties(message, packet.properties, Date.now());
  return message;
}

/**
 * A publish the hub will not take. 3.1.1 can only close the connection; MQTT 5 answers a QoS 1 publish with a PUBACK
 * reason code, in PUBACK order (the slot is settled at once), and closes with a DISCONNECT reason code otherwise.
 */
function refuse(conn: MqttConnection, packet: IPublishPacket, reason: string, err: Error): void {
  if (conn.v5 !== undefined && packet.qos === 1) return conn.written(conn.enqueueAck(packet.messageId ?? 0, 1, 'publish'), err);
  conn.close(reason, conn.v5 && { code: disconnectCodeFor(err) });
}

/** Into the gateway's batch for the log; the connection (a WriteSink) answers in order when the log has it. */
function startTelemetry(conn: MqttConnection, packet: IPublishPacket, message: InboundMessage): void {
  const identity = conn.identity;
  if (identity === undefined || conn.state !== 'connected') return;
  const slot = conn.enqueueAck(packet.messageId ?? 0, packet.qos === 1 ? 1 : 0, 'telemetry');
  conn.gateway.submitTelemetry(identity, message, conn.ctx.protocol, conn, slot);
}

function telemetry(conn: MqttConnection, packet: IPublishPacket, address: TopicAddress | undefined, bag: string): void {
  const identity = conn.identity;
  if (identity === undefined) return;
  // `address` undefined: the topic was the connection's own events topic (the fast path in handlePublish).
  if (address !== undefined && !isOwnNamespace(identity, address)) {
    const violation = namespaceViolation(identity, address);
    return refuse(conn, packet, `publish refused: ${violation}`, new PublishRefusal(violation, RC.notAuthorized, RC.notAuthorized));
  }
  let message: InboundMessage;
  let wait: number;
  try {
    message = inboundTelemetry(packet, bag);
    wait = conn.gateway.admitTelemetry(identity);
  } catch (err) {
    return refuse(conn, packet, `publish refused: ${(err as Error).message}`, err as Error);
  }
  if (wait <= 0) return startTelemetry(conn, packet, message);
  // Traffic shaping: hold this connection's later packets until the token is due.
  conn.block();
  setTimeout(() => {
    startTelemetry(conn, packet, message);
    conn.unblock();
  }, wait);
}

export function handlePublish(conn: MqttConnection, packet: IPublishPacket): void {
  const identity = conn.identity;
  if (identity === undefined) return conn.close('PUBLISH before CONNECT completed');
  if (packet.qos === 2) return conn.close('QoS 2 PUBLISH; IoT Hub supports QoS 0 and 1 only', { code: RC.qosNotSupported });
  // MQTT 5: the CONNACK announced Topic Alias Maximum 0, so any alias is a protocol error [MQTT-3.3.2-9].
  if (packet.properties?.topicAlias !== undefined) return conn.close('topic alias used; the hub announced Topic Alias Maximum 0', { code: RC.topicAliasInvalid });
  // Fast path: telemetry of a device to its own events topic, by far the most frequent packet.
  const own = conn.telemetryPrefix;
  if (own !== undefined && packet.topic.startsWith(own)) return telemetry(conn, packet, undefined, packet.topic.slice(own.length));
  const topic = parsePublishTopic(packet.topic);
  if (topic === undefined) {
    const why = `publish to '${packet.topic.slice(0, 200)}', which is not an IoT Hub topic`;
    return refuse(conn, packet, why, new PublishRefusal(why, RC.topicNameInvalid, RC.topicNameInvalid));
  }
  const gateway = conn.gateway;
  const protocol = conn.ctx.protocol;
  switch (topic.kind) {
    case 'telemetry':
      return telemetry(conn, packet, topic.address, topic.bag);
    case 'twinGet':
      return acknowledgeAfter(conn, packet, gateway.forwardTwinRequest(identity, { kind: 'GetTwin', requestId: topic.requestId }, protocol), 'twin request');
    case 'twinPatchReported':
      return acknowledgeAfter(conn, packet,
        gateway.forwardTwinRequest(identity, { kind: 'PatchReported', requestId: topic.requestId, patch: payloadOf(packet).toString('utf8') }, protocol),
        'reported properties');
    case 'methodResponse':
      return acknowledgeAfter(conn, packet,
        gateway.forwardReply(identity, { kind: 'MethodResponse', requestId: topic.requestId, status: topic.status, body: payloadOf(packet) }, protocol),
        'method response');
  }
}

/** The Will of a connection that ended without DISCONNECT, as telemetry with `iothub-MessageType=Will`. */
export function publishWill(conn: MqttConnection, will: { topic: string; payload: Buffer; retain: boolean }): void {
  const identity = conn.identity;
  const topic = parsePublishTopic(will.topic);
  if (identity === undefined || topic?.kind !== 'telemetry' || !isOwnNamespace(identity, topic.address)) return;
  try {
    const parsed = parseDeviceBag(topic.bag);
    const properties: Record<string, string> = { ...parsed.properties, 'iothub-MessageType': 'Will' };
    if (will.retain) properties['mqtt-retain'] = 'true';
    conn.gateway.publishTelemetry(identity, { system: parsed.system, properties, body: will.payload }, conn.ctx.protocol)
      .catch((err: unknown) => conn.log.warn({ err, device: conn.clientId }, 'will message not written'));
  } catch (err) {
    conn.log.warn({ err, device: conn.clientId }, 'will message dropped');
  }
}
