/**
 * TypeScript shapes of the values in schemas/ (the latest version of each). Optional Avro fields (`["null", T]` with
 * default null) are optional here: leave them out or set null when encoding; decoding always gives null. Timestamps
 * (`timestamp-millis`) are numbers of milliseconds since the epoch. fixtures.ts holds one value of each shape, typed
 * by these interfaces; avro-serde.test.ts checks they name exactly the schema's fields and round-trip, so a schema
 * edit these types do not follow fails a test.
 */

export type Protocol = 'Unknown' | 'Mqtt' | 'MqttWs' | 'Https' | 'Amqp' | 'AmqpWs';
type Opt<T> = T | null | undefined;

/** iot.device.messages — dev.tributary.DeviceMessage */
export interface DeviceMessage {
  messageId?: Opt<string>;
  correlationId?: Opt<string>;
  userId?: Opt<string>;
  to?: Opt<string>;
  contentType?: Opt<string>;
  contentEncoding?: Opt<string>;
  expiryTime?: Opt<number>;
  creationTime?: Opt<number>;
  enqueuedTime: number;
  connectionDeviceId: string;
  connectionModuleId?: Opt<string>;
  connectionAuthMethod?: Opt<string>;
  connectionDeviceGenerationId?: Opt<string>;
  interfaceId?: Opt<string>;
  componentName?: Opt<string>;
  outputName?: Opt<string>;
  ingestNode: string;
  protocol: Protocol;
  properties?: Record<string, string>;
  body: Buffer;
}

/** iot.device.messages.enriched — dev.tributary.EnrichedDeviceMessage */
export interface EnrichedDeviceMessage extends DeviceMessage {
  enrichments?: Record<string, string>;
  twin?: Opt<string>;
}

export type TwinUpdateOrigin = 'Unknown' | 'Device' | 'Service';

/** iot.twin.updates — dev.tributary.TwinUpdate */
export interface TwinUpdate {
  kind: 'GetTwin' | 'PatchReported' | 'PatchDesired' | 'PatchTags' | 'ReplaceTwin' | 'Unknown';
  origin: TwinUpdateOrigin;
  deviceId: string;
  moduleId?: Opt<string>;
  requestId?: Opt<string>;
  patch?: Opt<string>;
  ifMatch?: Opt<string>;
  ingestNode?: Opt<string>;
  protocol?: Opt<Protocol>;
  enqueuedTime: number;
}

/** iot.twin.changes — dev.tributary.TwinChange */
export interface TwinChange {
  opType: 'updateTwin' | 'replaceTwin' | 'unknown';
  deviceId: string;
  moduleId?: Opt<string>;
  version: number;
  etag?: Opt<string>;
  desiredVersion?: Opt<number>;
  reportedVersion?: Opt<number>;
  tagsPatch?: Opt<string>;
  desiredPatch?: Opt<string>;
  reportedPatch?: Opt<string>;
  origin?: Opt<TwinUpdateOrigin>;
  requestId?: Opt<string>;
  operationTime: number;
}

/** iot.device.lifecycle — dev.tributary.DeviceLifecycleEvent */
export interface DeviceLifecycleEvent {
  opType: 'createDeviceIdentity' | 'deleteDeviceIdentity' | 'updateDeviceIdentity' | 'createModuleIdentity' | 'deleteModuleIdentity' | 'updateModuleIdentity' | 'unknown';
  deviceId: string;
  moduleId?: Opt<string>;
  generationId?: Opt<string>;
  etag?: Opt<string>;
  status?: Opt<string>;
  statusReason?: Opt<string>;
  authenticationType?: Opt<string>;
  identity?: Opt<string>;
  operationTime: number;
}

/** iot.device.connections — dev.tributary.DeviceConnectionEvent */
export interface DeviceConnectionEvent {
  eventType: 'deviceConnected' | 'deviceDisconnected' | 'unknown';
  deviceId: string;
  moduleId?: Opt<string>;
  connectionId: string;
  ingestNode: string;
  protocol: Protocol;
  remoteAddress?: Opt<string>;
  authMethod?: Opt<string>;
  modelId?: Opt<string>;
  reason?: Opt<string>;
  eventTime: number;
}

/** iot.cloud.commands — dev.tributary.CloudCommand (fields used per kind: see the schema docs) */
export interface CloudCommand {
  kind: 'C2DMessage' | 'MethodRequest' | 'DesiredPatch' | 'TwinResponse' | 'Disconnect' | 'Unknown';
  commandId: string;
  deviceId: string;
  moduleId?: Opt<string>;
  targetNode?: Opt<string>;
  messageId?: Opt<string>;
  correlationId?: Opt<string>;
  userId?: Opt<string>;
  to?: Opt<string>;
  contentType?: Opt<string>;
  contentEncoding?: Opt<string>;
  expiryTime?: Opt<number>;
  ack?: Opt<string>;
  lockToken?: Opt<string>;
  deliveryCount?: Opt<number>;
  inputName?: Opt<string>;
  properties?: Record<string, string>;
  methodName?: Opt<string>;
  requestId?: Opt<string>;
  responseTimeoutSeconds?: Opt<number>;
  connectTimeoutSeconds?: Opt<number>;
  status?: Opt<number>;
  version?: Opt<number>;
  reason?: Opt<string>;
  body?: Opt<Buffer>;
  enqueuedTime: number;
}

/** iot.device.replies — dev.tributary.DeviceReply */
export interface DeviceReply {
  kind: 'MethodResponse' | 'C2DComplete' | 'C2DReject' | 'C2DAbandon' | 'Unknown';
  deviceId: string;
  moduleId?: Opt<string>;
  requestId?: Opt<string>;
  status?: Opt<number>;
  messageId?: Opt<string>;
  lockToken?: Opt<string>;
  body?: Opt<Buffer>;
  ingestNode: string;
  protocol: Protocol;
  enqueuedTime: number;
}

/** iot.route.<endpoint> and iot.deadletter — dev.tributary.ForwardedRecord */
export interface ForwardedRecord {
  sourceTopic: string;
  sourcePartition: number;
  sourceOffset: number;
  sourceTimestamp: number;
  key?: Opt<Buffer>;
  value?: Opt<Buffer>;
  headers?: Record<string, Buffer>;
  route?: Opt<string>;
  endpoint?: Opt<string>;
  errorCode?: Opt<string>;
  errorMessage?: Opt<string>;
  failedBy?: Opt<string>;
  attempts?: Opt<number>;
  forwardedTime: number;
}

/** The value type of each fixed topic (route topics: ForwardedRecord). */
export interface TopicValues {
  'iot.device.messages': DeviceMessage;
  'iot.device.messages.enriched': EnrichedDeviceMessage;
  'iot.twin.updates': TwinUpdate;
  'iot.twin.changes': TwinChange;
  'iot.device.lifecycle': DeviceLifecycleEvent;
  'iot.device.connections': DeviceConnectionEvent;
  'iot.cloud.commands': CloudCommand;
  'iot.device.replies': DeviceReply;
  'iot.deadletter': ForwardedRecord;
}
