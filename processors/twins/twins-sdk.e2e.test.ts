/**
 * Device and module twins end to end with the official SDKs only (iothub-wire.md §2.2, §2.5, §5.2): the whole hub
 * (service API on 443 — the service SDK cannot use another port — ingest on an ephemeral MQTT port, the twins
 * processor) on PGlite. The device reads its twin and reports; the back end sees the report and changes desired
 * properties with `Registry.updateTwin`; the device's listener gets the patch with the right `$version` — also
 * after the server drops the connection (the SDK reconnects and re-subscribes to nothing, wire §0.4) and after a
 * SAS-renewal reconnect. Run under the port-443 lock:
 *   flock /tmp/tributary-443.lock env TRIBUTARY_TEST_INFRA=external node --import tsx test/run.ts twins-sdk.e2e
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import device from 'azure-iot-device';
import deviceMqtt from 'azure-iot-device-mqtt';
import iothub from 'azure-iothub';
import { eventually, uniqueName } from '../../test/support/services.ts';
import { startTestHub, type TestHub } from '../../test/support/test-hub.ts';

const { Client, ModuleClient, SharedAccessKeyAuthenticationProvider } = device;
const { Mqtt } = deviceMqtt;
type DeviceTwin = Awaited<ReturnType<InstanceType<typeof Client>['getTwin']>>;
type Patch = Record<string, unknown> & { $version?: number };

let testHub: TestHub;
let registry: iothub.Registry;

before(async () => {
  testHub = await startTestHub();
  registry = iothub.Registry.fromConnectionString(testHub.hub.serviceConnectionString);
});
after(() => testHub?.close());

function connectionString(deviceId: string, key: string, moduleId?: string): string {
  return `HostName=localhost;DeviceId=${deviceId};${moduleId ? `ModuleId=${moduleId};` : ''}SharedAccessKey=${key};GatewayHostName=localhost:${testHub.hub.mqttPort}`;
}

function reportedUpdate(twin: DeviceTwin, patch: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => twin.properties.reported.update(patch, (err?: Error) => (err ? reject(err) : resolve())));
}

/** Collects every desired patch the SDK raises, and waits until the desired subscription is in the session store. */
async function listenDesired(twin: DeviceTwin, clientId: string): Promise<Patch[]> {
  const patches: Patch[] = [];
  // A copy: the SDK first raises the event with its live cache of desired properties, which later patches mutate.
  twin.on('properties.desired', (delta: Patch) => patches.push(structuredClone(delta)));
  await eventually(`desired subscription of ${clientId}`, async () => {
    const subs = await testHub.hub.ingest!.gateway.sessions.load(clientId);
    return subs?.some((s) => s.topic.startsWith('$iothub/twin/PATCH/properties/desired')) ? true : undefined;
  }, 15_000);
  return patches;
}

async function desiredArrives(patches: Patch[], key: string, value: unknown): Promise<Patch> {
  return eventually(`desired ${key}=${String(value)} at the device`, () => patches.find((p) => p[key] === value), 20_000);
}

describe('device twin with the official SDKs', () => {
  test('getTwin, reported update, desired change with $version, across a dropped connection and a SAS-renewal reconnect', async () => {
    const deviceId = uniqueName('twin-dev');
    const created = (await registry.create({ deviceId })).responseBody;
    const provider = SharedAccessKeyAuthenticationProvider.fromConnectionString(connectionString(deviceId, created.authentication!.symmetricKey!.primaryKey!));
    const client = Client.fromAuthenticationProvider(provider, Mqtt);
    await client.open();
    try {
      const twin = await client.getTwin();
      assert.equal(twin.properties.desired.$version, 1);
      assert.equal(twin.properties.reported.$version, 1);

      await reportedUpdate(twin, { firmware: '1.0.3', net: { rssi: -61 } });
      const afterReport = (await registry.getTwin(deviceId)).responseBody;
      assert.equal(afterReport.deviceId, deviceId);
      assert.equal(afterReport.properties.reported.firmware, '1.0.3');
      assert.deepEqual(afterReport.properties.reported.net, { rssi: -61 });
      assert.equal(afterReport.properties.reported.$version, 2);

      const patches = await listenDesired(twin, deviceId);
      const updated = (await registry.updateTwin(deviceId, { tags: { site: 'north' }, properties: { desired: { interval: 30 } } }, afterReport.etag)).responseBody;
      const first = await desiredArrives(patches, 'interval', 30);
      assert.equal(first.$version, updated.properties.desired.$version);
      assert.equal(first.$version, 2);

      // A stale etag is refused with 412, which the SDK raises as InvalidEtagError.
      await assert.rejects(registry.updateTwin(deviceId, { tags: { site: 'south' } }, afterReport.etag), (err: Error) => err.constructor.name === 'InvalidEtagError');

      // The server drops the connection; the SDK reconnects (CleanSession 0) without subscribing again.
      const dropped = testHub.hub.ingest!.gateway.connections.get({ deviceId });
      assert.ok(dropped);
      dropped.close('test: forced reconnect');
      await eventually('the SDK reconnected', () => {
        const now = testHub.hub.ingest!.gateway.connections.get({ deviceId });
        return now !== undefined && now.connectionId !== dropped.connectionId ? true : undefined;
      }, 30_000);
      await registry.updateTwin(deviceId, { properties: { desired: { interval: 60 } } }, '*');
      const second = await desiredArrives(patches, 'interval', 60);
      assert.equal(second.$version, 3);

      // SAS renewal: DISCONNECT, CONNECT with a new token, no SUBSCRIBE at all (wire §0.4).
      const beforeRenewal = testHub.hub.ingest!.gateway.connections.get({ deviceId })?.connectionId;
      provider.setTokenRenewalValues(3600, 3599);
      await eventually('a new connection after token renewal', () => {
        const now = testHub.hub.ingest!.gateway.connections.get({ deviceId })?.connectionId;
        return now !== undefined && now !== beforeRenewal ? true : undefined;
      }, 30_000);
      await registry.updateTwin(deviceId, { properties: { desired: { interval: null, mode: 'eco' } } }, '*');
      const third = await desiredArrives(patches, 'mode', 'eco');
      assert.equal(third.$version, 4);
      // The SDK merges the patch into its cache, where the null deleted the key.
      assert.equal(twin.properties.desired.interval, undefined);

      // Twin requests still work on the renewed connection, and the device's view matches the back end's.
      const reread = await client.getTwin();
      assert.equal(reread.properties.desired.mode, 'eco');
      assert.equal(reread.properties.desired.interval, undefined);
      await reportedUpdate(reread, { mode: 'eco' });
      const final = (await registry.getTwin(deviceId)).responseBody;
      assert.equal(final.properties.reported.mode, 'eco');
      assert.equal(final.properties.reported.$version, 3);
      assert.equal(final.tags.site, 'north');
    } finally {
      await client.close();
    }
  });

  test('a bad reported patch fails the SDK call with the hub\'s message, and the twin is unchanged', async () => {
    const deviceId = uniqueName('twin-bad');
    const created = (await registry.create({ deviceId })).responseBody;
    const client = Client.fromConnectionString(connectionString(deviceId, created.authentication!.symmetricKey!.primaryKey!), Mqtt);
    await client.open();
    try {
      const twin = await client.getTwin();
      await assert.rejects(reportedUpdate(twin, { 'bad.key': 1 }), (err: Error) => /bad\.key/.test(err.message));
      assert.equal((await registry.getTwin(deviceId)).responseBody.properties.reported.$version, 1);
    } finally {
      await client.close();
    }
  });
});

describe('module twin with the official SDKs', () => {
  test('getTwin, reported update and a desired change through updateModuleTwin', async () => {
    const deviceId = uniqueName('twin-mod');
    await registry.create({ deviceId });
    await registry.addModule({ deviceId, moduleId: 'm1' });
    const mod = (await registry.getModule(deviceId, 'm1')).responseBody;
    const client = ModuleClient.fromConnectionString(connectionString(deviceId, mod.authentication!.symmetricKey!.primaryKey!, 'm1'), Mqtt);
    await client.open();
    try {
      const twin = await client.getTwin();
      assert.equal(twin.properties.reported.$version, 1);
      await reportedUpdate(twin, { started: true });
      const read = (await registry.getModuleTwin(deviceId, 'm1')).responseBody;
      assert.equal(read.moduleId, 'm1');
      assert.equal(read.properties.reported.started, true);
      // The device twin is a different document.
      assert.equal((await registry.getTwin(deviceId)).responseBody.properties.reported.started, undefined);

      const patches = await listenDesired(twin, `${deviceId}/m1`);
      const updated = (await registry.updateModuleTwin(deviceId, 'm1', { properties: { desired: { level: 7 } } }, read.etag)).responseBody;
      const got = await desiredArrives(patches, 'level', 7);
      assert.equal(got.$version, updated.properties.desired.$version);
    } finally {
      await client.close();
    }
  });
});
