/**
 * `tributary processor new <name>`: writes a processor and its test from a template that already follows the
 * contract (config schema, defineProcessor, coded errors, a test on the embedded platform), so a data engineer starts
 * from something that typechecks and passes, and edits `process`. docs/processors.md walks through the result.
 */
import { mkdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { TributaryError } from '../core/errors/index.ts';

/** kebab-case, as processor names must be (they name consumer groups, metric labels and docs pages). */
const NAME_RULE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export interface ScaffoldResult {
  /** Paths of the files written, relative to rootDir. */
  files: string[];
  /** The exported definition's identifier (camelCase of the name). */
  exportName: string;
}

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Writes processors/<name>/<name>.ts and <name>.test.ts under rootDir; refuses to overwrite an existing folder. */
export async function scaffoldProcessor(name: string, rootDir: string): Promise<ScaffoldResult> {
  if (!NAME_RULE.test(name) || name === 'runtime') {
    throw new TributaryError('ArgumentInvalid', `processor name "${name}" must be kebab-case (lower-case letters, digits and single dashes, starting with a letter) and not "runtime"`);
  }
  const dir = join(rootDir, 'processors', name);
  if (await exists(dir)) {
    throw new TributaryError('InvalidOperation', `processors/${name} already exists; choose another name or edit the processor that is there`);
  }
  const exportName = camelCase(name);
  const fill = (template: string) => template.replaceAll('__NAME__', name).replaceAll('__EXPORT__', exportName);
  await mkdir(dir, { recursive: true });
  const files = [`processors/${name}/${name}.ts`, `processors/${name}/${name}.test.ts`];
  await writeFile(join(rootDir, files[0]!), fill(PROCESSOR_TEMPLATE), { flag: 'wx' });
  await writeFile(join(rootDir, files[1]!), fill(TEST_TEMPLATE), { flag: 'wx' });
  return { files, exportName };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

// The templates contain no backticks or "${", so they can live in template literals here unchanged.
export const PROCESSOR_TEMPLATE = `/**
 * __NAME__ — TODO: say what this processor does and why (docs/processors.md). As generated, it forwards device
 * messages that carry the application property \`match\` to the endpoint topic iot.route.<endpoint>.
 */
import { Type } from '@sinclair/typebox';
import { TributaryError } from '../../core/errors/index.ts';
import { TOPICS, routeTopic } from '../../core/log/topics.ts';
import { forwardedRecord } from '../../core/runtime/forwarded.ts';
import type { DeviceMessage } from '../../core/serde/index.ts';
import { defineProcessor } from '../runtime/define-processor.ts';

const ConfigSchema = Type.Object(
  {
    match: Type.String({ minLength: 1, description: 'Application property a message must carry to be forwarded.' }),
    endpoint: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', default: '__NAME__', description: 'Endpoint the messages go to: topic iot.route.<endpoint>.' }),
    inputTopic: Type.String({ default: TOPICS.deviceMessages, description: 'Topic of DeviceMessage records to read.' }),
  },
  { additionalProperties: false },
);

export const __EXPORT__ = defineProcessor({
  name: '__NAME__',
  description: 'TODO: one line for the generated reference page.',
  configSchema: ConfigSchema,
  inputTopics: (config) => [config.inputTopic],
  create(config, { serde }) {
    const output = routeTopic(config.endpoint);
    return {
      async process(record) {
        // A thrown TributaryError with a non-retriable code dead-letters this record; a retriable one replays the batch.
        if (!record.value) throw new TributaryError('ArgumentNull', 'record has no value (a tombstone is not a device message)');
        const message = await serde.decode<DeviceMessage>(record.value, record.topic);
        if (message.properties?.[config.match] === undefined) return []; // filtered
        const forwarded = forwardedRecord(record, { route: '__NAME__', endpoint: config.endpoint });
        return [{ topic: output, key: record.key, value: await serde.encode(output, forwarded) }];
      },
    };
  },
});
`;

export const TEST_TEMPLATE = `import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOPICS } from '../../core/log/topics.ts';
import type { DeviceMessage, ForwardedRecord } from '../../core/serde/index.ts';
import { openEmbeddedPlatform, type EmbeddedPlatform } from '../../test/support/embedded-platform.ts';
import { runProcessor } from '../runtime/run-processor.ts';
import { __EXPORT__ } from './__NAME__.ts';

let platform: EmbeddedPlatform;
before(async () => {
  platform = await openEmbeddedPlatform();
  await platform.log.createTopics([
    { name: TOPICS.deviceMessages, partitions: 2 },
    { name: 'iot.route.__NAME__', partitions: 2 },
    { name: TOPICS.deadLetter, partitions: 1 },
  ]);
});
after(() => platform.close());

function message(deviceId: string, properties: Record<string, string>): DeviceMessage {
  return {
    messageId: deviceId, enqueuedTime: 1_767_225_600_000, connectionDeviceId: deviceId, ingestNode: 'test', protocol: 'Mqtt',
    properties, body: Buffer.from('{}'),
  };
}

test('__NAME__ forwards the messages that carry the property and filters the others', async () => {
  const { log, serde } = platform;
  const inputs = [message('d1', {}), message('d2', { alarm: 'on' })];
  await log.produce(TOPICS.deviceMessages, await Promise.all(inputs.map(async (m) => ({ key: m.connectionDeviceId, value: await serde.encode(TOPICS.deviceMessages, m) }))));
  const running = await runProcessor(__EXPORT__, { log, serde, config: { match: 'alarm' } });
  try {
    const [out] = await platform.readTopic('iot.route.__NAME__', 1);
    const forwarded = await serde.decode<ForwardedRecord>(out!.value!);
    assert.equal((await serde.decode<DeviceMessage>(forwarded.value!)).connectionDeviceId, 'd2');
  } finally {
    await running.stop();
  }
});

test('__NAME__ refuses a configuration without its required setting', async () => {
  await assert.rejects(runProcessor(__EXPORT__, { log: platform.log, serde: platform.serde, config: {} }), { code: 'ConfigInvalid', message: /match/ });
});
`;
