/**
 * twins (DESIGN.md §2): applies the twin requests on `iot.twin.updates` in per-device order (the topic is keyed by
 * device id) and sends on what they cause:
 * - device GetTwin → TwinResponse 200 `{"desired":{…,"$version":n},"reported":{…,"$version":m}}` (never empty);
 * - device PatchReported → the patch is merged in one store transaction → TwinResponse 204 with the new reported
 *   `$version`, and a TwinChange on `iot.twin.changes`;
 * - PatchDesired / PatchTags / ReplaceTwin records (jobs, tools; the REST API writes directly) → TwinChange, and a
 *   DesiredPatch notification to the device when desired properties changed;
 * - a device request that fails (bad patch, unknown identity) is answered with the error's status and a JSON body
 *   `{"errorCode":<IoT Hub number>,"message":…}` — the SDK ignores the status and looks for errorCode (iothub-wire.md
 *   §0.5, §2.5). Retriable failures (store down) fail the batch so the runtime redelivers it instead.
 * Answers go to the ingest node named in the request (`targetNode`), so only that node handles them.
 *
 * Delivery is at-least-once like every processor: a batch replayed after a crash applies its patches again. Merges
 * are idempotent in content, so the twin ends the same; its versions rise once more and the change is emitted twice.
 *
 * It also reads `iot.device.connections` to keep the twin's `modelId` (the DTDL model a device announces at
 * connect, IoT Plug and Play) current.
 *
 * Built by a factory because it needs the store: `runProcessor(twinsProcessor({ store }), { log, serde, config: {} })`.
 */
import { Type } from '@sinclair/typebox';
import { TributaryError, toTributaryError } from '../../core/errors/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { LogRecord } from '../../core/log/types.ts';
import type { Logger } from '../../core/logging/logger.ts';
import { counter } from '../../core/metrics/registry.ts';
import type { AvroSerde, DeviceConnectionEvent, TwinChange, TwinUpdate } from '../../core/serde/index.ts';
import type { Store } from '../../core/store/types.ts';
import {
  TwinStore, parseJsonText, parseReplacement, parseSection, twinChangeRecords, twinErrorResponse, twinGetBody, twinResponseRecord,
  type TwinOutputRecord, type TwinTopics,
} from '../../core/twins/index.ts';
import { defineProcessor, type OutputRecord, type ProcessorDefinition } from '../runtime/define-processor.ts';

export const TwinsConfigSchema = Type.Object(
  {
    inputTopic: Type.String({ default: TOPICS.twinUpdates, description: 'Topic of TwinUpdate records (device twin requests, jobs).' }),
    connectionsTopic: Type.String({
      default: TOPICS.deviceConnections,
      description: 'Topic of DeviceConnectionEvent records whose `modelId` is copied into the twin; empty to not read it.',
    }),
    changesTopic: Type.String({ default: TOPICS.twinChanges, description: 'Where TwinChange records go.' }),
    commandsTopic: Type.String({ default: TOPICS.cloudCommands, description: 'Where answers to devices (TwinResponse) and desired-property notifications (DesiredPatch) go.' }),
  },
  { additionalProperties: false },
);

export interface TwinsDependencies {
  store: Store;
}

const requests = counter('tributary_twins_requests_total', 'Twin requests handled by the twins processor, by kind and outcome (ok, rejected).', ['kind', 'outcome']);

export function twinsProcessor(deps: TwinsDependencies): ProcessorDefinition<typeof TwinsConfigSchema> {
  return defineProcessor({
    name: 'twins',
    description: 'Applies twin requests (device reported patches and GETs, jobs) in per-device order, answers devices and emits twin changes and desired-property notifications.',
    configSchema: TwinsConfigSchema,
    inputTopics: (config) => (config.connectionsTopic === '' ? [config.inputTopic] : [config.inputTopic, config.connectionsTopic]),
    create(config, { serde, logger }) {
      const twins = new TwinStore(deps.store);
      const topics: TwinTopics = { twinChanges: config.changesTopic, cloudCommands: config.commandsTopic };
      return {
        async process(record) {
          if (!record.value) throw new TributaryError('ArgumentNull', `record at ${record.topic}/${record.partition}@${record.offset} has no value (a tombstone is not a twin request)`);
          if (config.connectionsTopic !== '' && record.topic === config.connectionsTopic && record.topic !== config.inputTopic) {
            await recordModelId(twins, serde, record);
            return [];
          }
          const update = await serde.decode<TwinUpdate>(record.value, TOPICS.twinUpdates);
          return handleUpdate(twins, serde, topics, update, logger);
        },
      };
    },
  });
}

async function recordModelId(twins: TwinStore, serde: AvroSerde, record: LogRecord): Promise<void> {
  const event = await serde.decode<DeviceConnectionEvent>(record.value!, TOPICS.deviceConnections);
  if (event.eventType === 'deviceConnected' && event.modelId) await twins.setModelId(event, event.modelId);
}

async function handleUpdate(twins: TwinStore, serde: AvroSerde, topics: TwinTopics, update: TwinUpdate, logger: Logger): Promise<OutputRecord[]> {
  const fromDevice = update.origin === 'Device';
  try {
    const outputs = await apply(twins, serde, topics, update);
    requests.inc({ kind: update.kind, outcome: 'ok' });
    return outputs;
  } catch (err) {
    const error = toTributaryError(err);
    // A retriable failure (store unavailable) fails the batch: the runtime redelivers it rather than answering.
    if (error.retriable || !fromDevice) throw error;
    requests.inc({ kind: update.kind, outcome: 'rejected' });
    logger.debug({ code: error.code, deviceId: update.deviceId, moduleId: update.moduleId, kind: update.kind }, 'twin request rejected');
    return [await twinResponseRecord(serde, update, twinErrorResponse(error), topics)];
  }
}

async function apply(twins: TwinStore, serde: AvroSerde, topics: TwinTopics, update: TwinUpdate): Promise<TwinOutputRecord[]> {
  const target = { deviceId: update.deviceId, moduleId: update.moduleId };
  const options = { ifMatch: update.ifMatch, origin: update.origin, requestId: update.requestId };
  const what = `${update.kind} ${update.requestId ?? ''}`.trim();
  let change: TwinChange | undefined;
  switch (update.kind) {
    case 'GetTwin': {
      if (update.origin !== 'Device') return [];
      const document = await twins.get(target);
      return [await twinResponseRecord(serde, update, { status: 200, body: twinGetBody(document) }, topics)];
    }
    case 'PatchReported':
      change = await twins.applyChanges(target, { reported: parseSection('reported', parseJsonText(update.patch, what)) }, options);
      break;
    case 'PatchDesired':
      change = await twins.applyChanges(target, { desired: parseSection('desired', parseJsonText(update.patch, what)) }, options);
      break;
    case 'PatchTags':
      change = await twins.applyChanges(target, { tags: parseSection('tags', parseJsonText(update.patch, what)) }, options);
      break;
    case 'ReplaceTwin':
      ({ change } = await twins.replace(target, parseReplacement(parseJsonText(update.patch, what)), options));
      break;
    default:
      throw new TributaryError('ArgumentInvalid', `twin request kind ${update.kind} is not one this hub knows; upgrade the twins processor`, { details: { kind: update.kind } });
  }
  const outputs = change ? await twinChangeRecords(serde, change, topics) : [];
  if (update.origin === 'Device' && update.kind === 'PatchReported') {
    // 204 with an empty body is success to the SDK; `$version` in the topic is the new reported version (§2.5).
    const version = change?.reportedVersion ?? (await twins.get(target)).properties.reported.$version;
    outputs.unshift(await twinResponseRecord(serde, update, { status: 204, body: Buffer.alloc(0), version }, topics));
  }
  return outputs;
}
