/**
 * Hub→device PUBLISHes for the commands the gateway hands a connection (iothub-wire.md §2.2, §2.4–§2.6):
 *   C2DMessage    → devices/{d}/messages/devicebound/{bag}            QoS of the subscription (1), PUBACK = complete
 *   (with module + inputName) devices/{d}/modules/{m}/inputs/{input}/{bag}
 *   MethodRequest → $iothub/methods/POST/{name}/?$rid={rid}              QoS 0
 *   DesiredPatch  → $iothub/twin/PATCH/properties/desired/?$version={n}  QoS 0
 *   TwinResponse  → $iothub/twin/res/{status}/?$rid={rid}[&$version=n]   QoS 0
 * Feature commands go out only when the matching subscription exists (C2D without one stays pending in the C2D
 * role's store). Twin responses answer a request the device itself just made, so they go out regardless: the SDK
 * subscribes to `$iothub/twin/res/#` lazily and may have a refused subscription it cannot see (wire §0.6).
 * MQTT 5 clients get the same topics and bags, plus the C2D properties as v5 properties (mqtt5.ts), within their
 * Receive Maximum and Maximum Packet Size.
 */
import type { IPublishPacket } from 'mqtt-packet';
import type { CloudCommand } from '../../core/serde/records.ts';
import type { MqttConnection } from './connection.ts';
import type { SubscriptionKind } from './topics.ts';
import { deliveryProperties } from './mqtt5.ts';
import { encodePacket } from './packet-reader.ts';
import { c2dTopic, desiredPatchTopic, methodRequestTopic, moduleInputTopic, twinResponseTopic } from './topics.ts';

/** QoS 1 deliveries awaiting PUBACK per connection; IoT Hub allows 50 pending C2D messages per device (wire §7.1). */
export const MAX_OUTBOUND_INFLIGHT = 50;
/** Bytes queued on a socket the device does not read, beyond which the connection is dropped as stalled. */
const MAX_WRITE_BUFFER = 8 * 1024 * 1024;

export class Outbound {
  private nextId = 1;
  private readonly inflight = new Map<number, CloudCommand>();

  /** MQTT 5: also the client's Receive Maximum [MQTT-3.3.4-9]. */
  private readonly maxInflight: number;

  constructor(private readonly conn: MqttConnection) {
    this.maxInflight = Math.min(MAX_OUTBOUND_INFLIGHT, conn.v5?.receiveMaximum ?? MAX_OUTBOUND_INFLIGHT);
  }

  private subscribed(kind: SubscriptionKind): 0 | 1 | undefined {
    for (const s of this.conn.subscriptions.values()) if (s.kind === kind) return s.qos;
    return undefined;
  }

  private allocateId(): number | undefined {
    if (this.inflight.size >= this.maxInflight) return undefined;
    for (;;) {
      const id = this.nextId;
      this.nextId = id >= 65535 ? 1 : id + 1;
      if (!this.inflight.has(id)) return id;
    }
  }

  deliver(command: CloudCommand): void {
    const conn = this.conn;
    const identity = conn.identity;
    if (identity === undefined || conn.state !== 'connected') return;
    const body = command.body ?? Buffer.alloc(0);
    let kind: SubscriptionKind | undefined;
    let topic: string;
    switch (command.kind) {
      case 'C2DMessage': {
        const bag = {
          messageId: command.messageId, to: command.to, contentType: command.contentType, contentEncoding: command.contentEncoding,
          correlationId: command.correlationId, userId: command.userId, expiryTime: command.expiryTime, ack: command.ack, properties: command.properties,
        };
        if (identity.moduleId && command.inputName) {
          kind = 'inputs';
          topic = moduleInputTopic(identity.deviceId, identity.moduleId, command.inputName, bag);
        } else {
          kind = 'c2d';
          topic = c2dTopic(identity.deviceId, bag);
        }
        break;
      }
      case 'MethodRequest':
        if (!command.methodName || !command.requestId) return this.skip(command, 'a method request needs methodName and requestId');
        kind = 'methods';
        topic = methodRequestTopic(command.methodName, command.requestId);
        break;
      case 'DesiredPatch':
        if (command.version === null || command.version === undefined) return this.skip(command, 'a desired patch needs its version');
        kind = 'desired';
        topic = desiredPatchTopic(command.version);
        break;
      case 'TwinResponse':
        if (!command.requestId) return this.skip(command, 'a twin response needs the requestId');
        topic = twinResponseTopic(command.status ?? 200, command.requestId, command.version);
        break;
      default:
        return this.skip(command, `no MQTT delivery for ${command.kind}`);
    }
    const subscribedQos = kind === undefined ? 0 : this.subscribed(kind);
    if (subscribedQos === undefined) return this.skip(command, `the device has no ${kind} subscription`, 'debug');
    // Methods, twin responses and desired patches are QoS 0 in IoT Hub whatever was granted.
    const qos = command.kind === 'C2DMessage' ? subscribedQos : 0;
    const packet: IPublishPacket = { cmd: 'publish', topic, payload: body, qos, retain: false, dup: false };
    const v5 = conn.v5;
    if (v5 !== undefined) {
      const properties = deliveryProperties(command);
      if (properties !== undefined) packet.properties = properties;
      // A packet above the client's Maximum Packet Size must not be sent [MQTT-3.1.2-24]; a C2D stays pending.
      if (v5.maximumPacketSize > 0 && encodePacket(qos === 1 ? { ...packet, messageId: 1 } : packet, v5.encodeOptions).length > v5.maximumPacketSize) {
        return this.skip(command, `the delivery exceeds the client's Maximum Packet Size of ${v5.maximumPacketSize} bytes`);
      }
    }
    if (qos === 1) {
      const id = this.allocateId();
      if (id === undefined) return this.skip(command, `${this.maxInflight} deliveries already await PUBACK`);
      packet.messageId = id;
      this.inflight.set(id, command);
    }
    conn.write(packet);
    if (conn.stream.writableLength > MAX_WRITE_BUFFER) conn.close('the device is not reading what the hub sends');
  }

  /** PUBACK of a QoS 1 delivery: over MQTT that is the C2D "complete" (wire §2.4). */
  acknowledged(messageId: number): void {
    const command = this.inflight.get(messageId);
    if (command === undefined || this.conn.identity === undefined) return;
    this.inflight.delete(messageId);
    if (command.kind === 'C2DMessage') this.conn.gateway.completeCommand(this.conn.identity, command, this.conn.ctx.protocol);
  }

  get awaitingAck(): number {
    return this.inflight.size;
  }

  private skip(command: CloudCommand, why: string, level: 'debug' | 'warn' = 'warn'): void {
    this.conn.log[level]({ commandId: command.commandId, kind: command.kind, device: this.conn.clientId, why }, 'command not delivered');
  }
}
