/**
 * MQTT 5 on IoT Hub's MQTT 3.1.1 topic namespace (docs/mqtt.md): the same topics and property bags as the SDK's
 * dialect (iothub-wire.md §2), plus what MQTT 5 adds on top — reason codes where 3.1.1 can only close, and message
 * properties mapped onto IoT Hub's. Everything here runs only for connections whose CONNECT said protocol level 5;
 * a 3.1.1 connection never reaches this file (its `v5` is undefined).
 *
 * Choices (each one is IoT Hub's own where its MQTT 5 preview defines it, iot-mqtt-5-preview.md):
 * - CONNACK announces Maximum QoS 1, Topic Alias Maximum 0, the packet-size cap the reader enforces, no subscription
 *   identifiers, no shared subscriptions; Server Keep Alive 1177 s when the client asked for 0 or for more than the
 *   1.5 × keep-alive ≤ 1767 s rule can honour (wire §7.1), so a v5 client learns the limit instead of being dropped.
 * - Device→hub: the topic bag wins over MQTT 5 properties (one rule: the bag is IoT Hub's contract, properties fill
 *   in what it leaves unset). User Properties → application properties; Content Type → `$.ct`; Correlation Data
 *   (UTF-8) → `$.cid`; Message Expiry Interval → `$.exp` (arrival + interval); Payload Format Indicator 1 → `$.ce`
 *   `utf-8`. Response Topic is ignored.
 * - A QoS 1 publish the hub refuses for a reason the device can act on gets a PUBACK reason code and the connection
 *   stays: 0x87 not its namespace, 0x90 not an IoT Hub topic or a malformed bag, 0x97 throttled / quota / over
 *   256 KB (PUBACK has no "packet too large"; the reason string names IoT Hub's error), 0x83 correlation data that
 *   is not UTF-8. Failures of the hub itself (log unavailable) still close the connection, as over 3.1.1, so the
 *   client re-sends after reconnecting; QoS 0 refusals close it too (there is no PUBACK to carry them).
 * - Every server-side close of a connected v5 client is preceded by a DISCONNECT with a reason code.
 */
import type { IConnackPacket, IConnectPacket, IDisconnectPacket, IPubackPacket, IPublishPacket } from 'mqtt-packet';
import { TributaryError } from '../../core/errors/index.ts';
import type { CloudCommand } from '../../core/serde/records.ts';
import type { InboundMessage } from '../gateway/envelope.ts';

/** MQTT 5 reason codes used here (MQTT 5.0 §2.4). */
export const RC = {
  success: 0x00,
  noSubscriptionExisted: 0x11,
  unspecified: 0x80,
  malformed: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  serverShuttingDown: 0x8b,
  badAuthenticationMethod: 0x8c,
  keepAliveTimeout: 0x8d,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  messageRateTooHigh: 0x96,
  quotaExceeded: 0x97,
  administrativeAction: 0x98,
  qosNotSupported: 0x9b,
  sharedSubscriptionsNotSupported: 0x9e,
  connectionRateExceeded: 0x9f,
  maximumConnectTime: 0xa0,
  subscriptionIdentifiersNotSupported: 0xa1,
} as const;

/** IoT Hub: a client keep-alive above this cannot be honoured by the 1.5 × keep-alive ≤ 1767 s rule (wire §7.1). */
export const MAX_KEEP_ALIVE_SECONDS = 1177;

/** What a v5 connection remembers from its CONNECT. */
export interface V5Session {
  /** The client's Receive Maximum: QoS 1 deliveries it allows awaiting its PUBACK (Outbound caps it further). */
  receiveMaximum: number;
  /** The client's Maximum Packet Size; 0 = none announced. */
  maximumPacketSize: number;
  /** Request Problem Information (default on): reason strings on PUBACK, SUBACK and UNSUBACK. */
  problemInformation: boolean;
  /** Session Expiry Interval, seconds; 0 = the session ends with the connection. */
  sessionExpiry: number;
  /** mqtt-packet's generate options: version 5, and the client's size limit (it drops reason strings to fit). */
  encodeOptions: { protocolVersion: 5; properties?: { maximumPacketSize: number } };
}

export function v5Session(packet: IConnectPacket): V5Session {
  const p = packet.properties ?? {};
  const maximumPacketSize = p.maximumPacketSize ?? 0;
  return {
    receiveMaximum: p.receiveMaximum || 65535,
    maximumPacketSize,
    problemInformation: p.requestProblemInformation !== false,
    sessionExpiry: p.sessionExpiryInterval ?? 0,
    encodeOptions: maximumPacketSize > 0 ? { protocolVersion: 5, properties: { maximumPacketSize } } : { protocolVersion: 5 },
  };
}

/** Why a v5 CONNECT cannot be taken before looking at its identity, or undefined. */
export function v5ConnectRefusal(packet: IConnectPacket): { code: number; reason: string } | undefined {
  // Enhanced authentication (AUTH exchanges) is not offered: SAS goes in the password, X.509 in TLS, as over 3.1.1.
  if (packet.properties?.authenticationMethod !== undefined) {
    return { code: RC.badAuthenticationMethod, reason: `authentication method '${packet.properties.authenticationMethod}' is not supported; send the SAS token as the password` };
  }
  return undefined;
}

/** A 3.1.1 CONNACK return code (1–5) as the v5 reason code for the same gateway outcome. */
export function connackReasonCode(returnCode: 1 | 2 | 3 | 4 | 5, err?: unknown): number {
  if (err instanceof TributaryError) {
    // Return code 3 covers these over 3.1.1; MQTT 5 has exact codes for them.
    if (err.code === 'ThrottlingException') return RC.connectionRateExceeded;
    if (err.code === 'IotHubQuotaExceeded') return RC.quotaExceeded;
  }
  switch (returnCode) {
    case 1: return RC.unsupportedProtocolVersion;
    case 2: return RC.clientIdNotValid;
    case 3: return RC.serverUnavailable;
    case 4: return RC.badUserNameOrPassword;
    case 5: return RC.notAuthorized;
  }
}

/** UTF-8 strings in MQTT properties are capped; a reason string is for people, so a short one is enough. */
function short(text: string): string {
  return text.length <= 240 ? text : `${text.slice(0, 237)}...`;
}

export function refusedConnack(code: number, reason: string): IConnackPacket {
  return { cmd: 'connack', reasonCode: code, sessionPresent: false, properties: { reasonString: short(reason) } };
}

/** The Server Keep Alive to announce, or undefined when the client's own keep-alive is honoured as is. */
export function serverKeepAlive(clientKeepAlive: number): number | undefined {
  return clientKeepAlive === 0 || clientKeepAlive > MAX_KEEP_ALIVE_SECONDS ? MAX_KEEP_ALIVE_SECONDS : undefined;
}

export function acceptedConnack(sessionPresent: boolean, clientKeepAlive: number, maxPacketBytes: number): IConnackPacket {
  const properties: NonNullable<IConnackPacket['properties']> = {
    maximumQoS: 1,
    topicAliasMaximum: 0,
    maximumPacketSize: maxPacketBytes,
    subscriptionIdentifiersAvailable: false,
    sharedSubscriptionAvailable: false,
  };
  const keepAlive = serverKeepAlive(clientKeepAlive);
  if (keepAlive !== undefined) properties.serverKeepAlive = keepAlive;
  return { cmd: 'connack', reasonCode: RC.success, sessionPresent, properties };
}

export function disconnectPacket(code: number, reason: string): IDisconnectPacket {
  return { cmd: 'disconnect', reasonCode: code, properties: { reasonString: short(reason) } };
}

// ---- device → hub -------------------------------------------------------------------------------------------------

/** A publish refused with MQTT 5 reason codes: one for a PUBACK (QoS 1), one for the DISCONNECT otherwise. */
export class PublishRefusal extends Error {
  constructor(message: string, readonly pubackCode: number, readonly disconnectCode: number) {
    super(message);
  }
}

/** The PUBACK reason code for a refused QoS 1 publish, or undefined when the connection should close instead. */
export function pubackCodeFor(err: Error | undefined): number | undefined {
  if (err instanceof PublishRefusal) return err.pubackCode;
  if (!(err instanceof TributaryError)) return undefined;
  switch (err.code) {
    case 'ThrottlingException':
    case 'IotHubQuotaExceeded':
    case 'MessageTooLarge':
      return RC.quotaExceeded;
    case 'IotHubUnauthorizedAccess':
      return RC.notAuthorized;
    case 'ArgumentInvalid':
      return RC.topicNameInvalid; // the only argument of a publish the hub parses is its topic (and bag)
  }
  return err.retriable ? undefined : RC.implementationSpecific;
}

/** The DISCONNECT reason code for a close caused by `err`. */
export function disconnectCodeFor(err: Error | undefined): number {
  if (err instanceof PublishRefusal) return err.disconnectCode;
  if (!(err instanceof TributaryError)) return RC.unspecified;
  switch (err.code) {
    case 'ThrottlingException': return RC.messageRateTooHigh;
    case 'IotHubQuotaExceeded': return RC.quotaExceeded;
    case 'MessageTooLarge': return RC.packetTooLarge;
    case 'IotHubUnauthorizedAccess': return RC.notAuthorized;
    case 'ArgumentInvalid': return RC.topicNameInvalid;
  }
  return err.retriable ? RC.serverBusy : RC.implementationSpecific;
}

export function refusedPuback(messageId: number, code: number, err: Error | undefined, session: V5Session): IPubackPacket {
  const packet: IPubackPacket = { cmd: 'puback', messageId, reasonCode: code };
  if (session.problemInformation && err !== undefined) {
    const name = err instanceof TributaryError ? `${err.code}: ` : '';
    packet.properties = { reasonString: short(`${name}${err.message}`) };
  }
  return packet;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Adds a v5 PUBLISH's properties to the message parsed from its topic bag, where the bag left the field unset.
 * Throws a PublishRefusal for correlation data that is not UTF-8 (IoT Hub's correlation id is a string).
 */
export function applyPublishProperties(message: InboundMessage, props: NonNullable<IPublishPacket['properties']>, now: number): void {
  const system = message.system;
  if (props.contentType !== undefined) system.contentType ??= props.contentType;
  if (props.correlationData !== undefined && system.correlationId === undefined) {
    try {
      system.correlationId = utf8.decode(props.correlationData);
    } catch {
      throw new PublishRefusal('Correlation Data must be UTF-8 text: it becomes the message\'s correlation id', RC.implementationSpecific, RC.implementationSpecific);
    }
  }
  if (props.messageExpiryInterval !== undefined) system.expiryTime ??= new Date(now + props.messageExpiryInterval * 1000).toISOString();
  if (props.payloadFormatIndicator === true) system.contentEncoding ??= 'utf-8';
  const user = props.userProperties;
  if (user !== undefined) {
    const target = message.properties;
    for (const key of Object.keys(user)) {
      if (Object.hasOwn(target, key)) continue; // the bag wins
      const value = user[key]!;
      // A key sent more than once keeps its last value, as in a property bag.
      target[key] = Array.isArray(value) ? (value.at(-1) ?? '') : value;
    }
  }
}

// ---- hub → device -------------------------------------------------------------------------------------------------

/**
 * MQTT 5 properties of a C2D / module-input delivery: the application properties as User Properties, the content
 * type and the correlation id. The topic still carries the full bag, so a client may read either.
 */
export function deliveryProperties(command: CloudCommand): IPublishPacket['properties'] | undefined {
  if (command.kind !== 'C2DMessage') return undefined;
  const properties: NonNullable<IPublishPacket['properties']> = {};
  let any = false;
  if (command.properties && Object.keys(command.properties).length > 0) {
    properties.userProperties = { ...command.properties };
    any = true;
  }
  if (command.contentType) {
    properties.contentType = command.contentType;
    any = true;
  }
  if (command.correlationId) {
    properties.correlationData = Buffer.from(command.correlationId, 'utf8');
    any = true;
  }
  return any ? properties : undefined;
}
