import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import avro from 'avsc';
import type { RoutedMessage } from '../runtime/routed-message.ts';
import { avroContainer, dotNetUtc, jsonLine, toIotHubRecord } from './iothub-record.ts';

const T = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function routed(overrides: Partial<RoutedMessage> = {}): RoutedMessage {
  const body = Buffer.from('{"t":21.5}');
  return {
    source: 'DeviceMessages', deviceId: 'dev-a', moduleId: null, messageId: 'm-1', dedupeId: 'm-1', enqueuedTime: T,
    systemProperties: {
      'message-id': 'm-1', 'correlation-id': 'c-1', 'content-type': 'application/json', 'content-encoding': 'utf-8',
      'iothub-connection-device-id': 'dev-a', 'iothub-connection-auth-method': '{"type":"sas"}',
      'iothub-connection-auth-generation-id': 'g1', 'iothub-enqueuedtime': new Date(T).toISOString(), 'dt-subject': 'thermo',
    },
    appProperties: { level: 'high', site: 'device-says' }, enrichments: { site: 'plant-7' },
    body, bodyText: body.toString('utf8'), ingestNode: 'n1', protocol: 'Mqtt', route: 'r', endpoint: 'ep',
    sourceTopic: 'iot.device.messages.enriched', sourcePartition: 0, sourceOffset: 9,
    ...overrides,
  };
}

/** Reads an Avro object container file back with avsc: its header (schema, codec) and records. */
async function readAvro(file: Buffer): Promise<{ schema: unknown; codec: string; records: Record<string, unknown>[] }> {
  const decoder = new avro.streams.BlockDecoder({ noDecode: false });
  const records: Record<string, unknown>[] = [];
  let schema: unknown;
  let codec = '';
  decoder.on('metadata', (type: avro.Type, c: string) => {
    schema = type.schema();
    codec = c;
  });
  decoder.on('data', (r: Record<string, unknown>) => records.push({ ...r }));
  await new Promise<void>((resolve, reject) => {
    decoder.on('end', resolve).on('error', reject);
    Readable.from([file]).pipe(decoder);
  });
  return { schema, codec, records };
}

describe('IoT Hub storage records', () => {
  it('EnqueuedTimeUtc in .NET round-trip format, seven fractional digits', () => {
    assert.equal(dotNetUtc(T), '2026-01-02T03:04:05.6780000Z');
    assert.equal(dotNetUtc(Date.UTC(2019, 4, 10, 6, 6, 32, 722)), '2019-05-10T06:06:32.7220000Z');
  });

  it('system properties under IoT Hub\'s routed-message names; enrichments among the properties, winning over the device\'s', () => {
    const r = toIotHubRecord(routed());
    assert.equal(r.EnqueuedTimeUtc, '2026-01-02T03:04:05.6780000Z');
    assert.deepEqual(r.Properties, { level: 'high', site: 'plant-7' });
    assert.deepEqual(r.SystemProperties, {
      messageId: 'm-1', correlationId: 'c-1', contentType: 'application/json', contentEncoding: 'utf-8',
      connectionDeviceId: 'dev-a', connectionAuthMethod: '{"type":"sas"}', connectionDeviceGenerationId: 'g1',
      enqueuedTime: '2026-01-02T03:04:05.6780000Z', 'dt-subject': 'thermo',
    });
    assert.deepEqual(r.Body, Buffer.from('{"t":21.5}'));
  });

  it('JSON lines: a JSON body is embedded as JSON, exactly as sent (big numbers intact), on one line', () => {
    const text = '{\n  "big": 12345678901234567890123,\n  "s": "a\\nb"\n}';
    const line = jsonLine(toIotHubRecord(routed()), text);
    assert.ok(line.endsWith('}\n'));
    assert.equal(line.indexOf('\n'), line.length - 1, 'one line');
    assert.ok(line.includes('"Body":{   "big": 12345678901234567890123,   "s": "a\\nb" }}'), line);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['EnqueuedTimeUtc', 'Properties', 'SystemProperties', 'Body']);
    assert.deepEqual(parsed.Body, { big: Number('12345678901234567890123'), s: 'a\nb' });
    assert.equal(parsed.EnqueuedTimeUtc, '2026-01-02T03:04:05.6780000Z');
  });

  it('JSON lines: other bodies are base64 strings, as IoT Hub writes them without JSON content type and UTF-8', () => {
    const binary = Buffer.from([0, 1, 2, 250, 255]);
    const parsed = JSON.parse(jsonLine(toIotHubRecord(routed({ body: binary, bodyText: null })), null)) as { Body: string };
    assert.equal(parsed.Body, 'AAEC+v8=');
    // Declared JSON that is not JSON: base64 too, never a broken line.
    const bad = Buffer.from('{"t":');
    const parsedBad = JSON.parse(jsonLine(toIotHubRecord(routed({ body: bad, bodyText: '{"t":' })), '{"t":')) as { Body: string };
    assert.equal(Buffer.from(parsedBad.Body, 'base64').toString(), '{"t":');
  });

  for (const deflate of [false, true]) {
    it(`Avro container (${deflate ? 'deflate' : 'null'} codec) decodes back with avsc to IoT Hub's record shape`, async () => {
      const messages = [routed(), routed({ body: Buffer.from([0, 255]), bodyText: null, appProperties: {}, enrichments: {}, enqueuedTime: T + 1 })];
      const file = await avroContainer(messages.map(toIotHubRecord), { deflate, seed: 'name-1' });
      const { schema, codec, records } = await readAvro(file);
      assert.equal(codec, deflate ? 'deflate' : 'null');
      assert.deepEqual(schema, {
        type: 'record', name: 'Microsoft.Azure.Devices.Message',
        fields: [
          { name: 'EnqueuedTimeUtc', type: 'string' },
          { name: 'Properties', type: { type: 'map', values: 'string' } },
          { name: 'SystemProperties', type: { type: 'map', values: 'string' } },
          { name: 'Body', type: ['null', 'bytes'] },
        ],
      });
      assert.equal(records.length, 2);
      assert.equal(records[0]!.EnqueuedTimeUtc, '2026-01-02T03:04:05.6780000Z');
      assert.equal(records[1]!.EnqueuedTimeUtc, '2026-01-02T03:04:05.6790000Z');
      assert.deepEqual(records[0]!.Properties, { level: 'high', site: 'plant-7' });
      assert.equal((records[0]!.SystemProperties as Record<string, string>).connectionDeviceId, 'dev-a');
      assert.deepEqual(records[0]!.Body, Buffer.from('{"t":21.5}'));
      assert.deepEqual(records[1]!.Body, Buffer.from([0, 255]));
      assert.deepEqual(records[1]!.Properties, {});
    });
  }

  it('the same records under the same name give the same bytes; another name another sync marker', async () => {
    const records = [toIotHubRecord(routed())];
    const a = await avroContainer(records, { deflate: true, seed: 'x' });
    assert.deepEqual(await avroContainer(records, { deflate: true, seed: 'x' }), a);
    assert.notDeepEqual(await avroContainer(records, { deflate: true, seed: 'y' }), a);
  });
});
