/**
 * threshold-alert — the worked example for data engineers (docs/processors.md): reads D2C telemetry, and when a
 * numeric field of a JSON body crosses a threshold, forwards the message to an endpoint topic `iot.route.<endpoint>`
 * where any connector can pick it up. It shows the whole contract: a config schema, decoding the Avro envelope,
 * filtering by returning no records, and coded errors for input the processor cannot read.
 */
import { Type } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import type { DeviceMessage } from '../../core/serde/index.ts';
import { forwardedRecord } from '../../core/runtime/forwarded.ts';
import { defineProcessor } from '../runtime/define-processor.ts';

const ConfigSchema = Type.Object(
  {
    field: Type.String({ minLength: 1, description: 'Top-level field of the JSON body to watch, e.g. `temperature`.' }),
    above: Type.Number({ description: 'Alert when the field is strictly greater than this value.' }),
    endpoint: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', default: 'alerts', description: 'Endpoint the alerts go to: topic `iot.route.<endpoint>`.' }),
    inputTopic: Type.String({ default: TOPICS.deviceMessages, description: 'Topic of DeviceMessage records to watch.' }),
  },
  { additionalProperties: false },
);

export const thresholdAlert = defineProcessor({
  name: 'threshold-alert',
  description: 'Forwards telemetry whose JSON field crosses a threshold to an endpoint topic.',
  configSchema: ConfigSchema,
  inputTopics: (config) => [config.inputTopic],
  create(config, { serde }) {
    const output = routeTopic(config.endpoint);
    return {
      async process(record) {
        if (!record.value) throw new TributaryError('ArgumentNull', 'record has no value (a tombstone is not a device message)');
        const message = await serde.decode<DeviceMessage>(record.value, record.topic);
        // As IoT Hub's routing does for $body: only JSON bodies in UTF-8 are looked into; others pass unseen.
        if (message.contentType !== 'application/json' || (message.contentEncoding ?? 'utf-8').toLowerCase() !== 'utf-8') return [];
        let body: unknown;
        try {
          body = JSON.parse(message.body.toString('utf8'));
        } catch (err) {
          throw new TributaryError('ArgumentInvalid', `message ${message.messageId ?? '(no id)'} says application/json but its body is not JSON`, { cause: err });
        }
        const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[config.field] : undefined;
        if (typeof value !== 'number' || !(value > config.above)) return [];
        const forwarded = forwardedRecord(record, { route: 'threshold-alert', endpoint: config.endpoint });
        return [{ topic: output, key: record.key, value: await serde.encode(output, forwarded) }];
      },
    };
  },
});
