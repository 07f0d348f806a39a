/**
 * `npm run bench -- twins` / `tributary bench twins`: the twin round trips of a whole hub in one process (embedded
 * log and PGlite, the zero-install default), driven by N raw MQTT/TLS devices speaking the IoT Hub dialect:
 *
 * 1. baseline — QoS 1 telemetry, each device sending one at a time: PUBACK comes once Kafka (here the embedded log)
 *    acknowledged, so it is the hub's floor for "device → log → device";
 * 2. reported PATCH round trips, each device one at a time: `$iothub/twin/PATCH/properties/reported/?$rid=` until
 *    `$iothub/twin/res/204/?$rid=` (ingest → iot.twin.updates → twins processor → store → iot.cloud.commands → ingest);
 * 3. baseline — a DesiredPatch command put straight on iot.cloud.commands until the device has it (the device-bound
 *    path alone);
 * 4. desired update latency: `PATCH /twins/{id}` on the service API (HTTPS, as the SDK calls it) until the device
 *    has `$iothub/twin/PATCH/properties/desired/?$version=n`, one update at a time.
 * Figures: operations/s, p50/p99/max, and each twin phase's p50 as a ratio of its baseline (DESIGN.md §10).
 * (Query latency over many twins is the query engine's bench.)
 *
 * Options: --devices N (20) --patches P per device (20) --desired D updates (50)
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { createSasToken, parseServiceConnectionString } from '../../core/auth/index.ts';
import { loadConfig } from '../../core/config/index.ts';
import { TOPICS } from '../../core/log/topics.ts';
import type { CloudCommand } from '../../core/serde/index.ts';
import { startHub, type RunningHub } from '../../cli/hub.ts';
import { createHistogram, recordMs, summarize, type Histogram, type LatencySummary } from '../../load-tests/simulator/histogram.ts';
import { formatTable } from '../../load-tests/table.ts';

interface Device {
  id: string;
  client: MqttClient;
  /** Resolvers of twin responses by $rid, and of desired notifications by $version. */
  pending: Map<string, () => void>;
  desired: Map<number, () => void>;
}

interface Phase {
  label: string;
  operations: number;
  seconds: number;
  latency: LatencySummary;
}

function deviceToken(host: string, deviceId: string, key: string): string {
  return createSasToken({ resourceUri: `${host}/devices/${deviceId}`, key, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
}

async function connectDevice(hub: RunningHub, host: string, id: string, key: string): Promise<Device> {
  const client = await mqtt.connectAsync(`mqtts://${host}:${hub.mqttPort}`, {
    ca: hub.tls.caPem, servername: host, protocolVersion: 4, clientId: id, username: `${host}/${id}/?api-version=2021-04-12`,
    password: deviceToken(host, id, key), clean: false, keepalive: 180, reconnectPeriod: 0,
  });
  const device: Device = { id, client, pending: new Map(), desired: new Map() };
  client.on('message', (topic) => {
    const query = new URLSearchParams(topic.slice(topic.indexOf('?') + 1));
    if (topic.startsWith('$iothub/twin/res/')) {
      const rid = query.get('$rid');
      if (rid) device.pending.get(rid)?.();
    } else if (topic.startsWith('$iothub/twin/PATCH/properties/desired/')) {
      device.desired.get(Number(query.get('$version')))?.();
    }
  });
  await client.subscribeAsync('$iothub/twin/res/#', { qos: 0 });
  await client.subscribeAsync('$iothub/twin/PATCH/properties/desired/#', { qos: 0 });
  return device;
}

function waitFor<K>(map: Map<K, () => void>, key: K, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      map.delete(key);
      reject(new Error(`no answer for ${String(key)} within ${timeoutMs} ms`));
    }, timeoutMs);
    map.set(key, () => {
      clearTimeout(timer);
      map.delete(key);
      resolve();
    });
  });
}

/** Every device runs `op` `perDevice` times one after another; all devices at once. */
async function timed(label: string, devices: Device[], perDevice: number, op: (d: Device, i: number) => Promise<void>): Promise<Phase> {
  const h: Histogram = createHistogram();
  const t0 = performance.now();
  await Promise.all(devices.map(async (d) => {
    for (let i = 0; i < perDevice; i++) {
      const start = performance.now();
      await op(d, i);
      recordMs(h, performance.now() - start);
    }
  }));
  return { label, operations: devices.length * perDevice, seconds: (performance.now() - t0) / 1000, latency: summarize(h) };
}

/** One operation at a time, round robin over the devices. */
async function sequential(label: string, devices: Device[], count: number, op: (d: Device, i: number) => Promise<void>): Promise<Phase> {
  const h: Histogram = createHistogram();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await op(devices[i % devices.length]!, i);
    recordMs(h, performance.now() - start);
  }
  return { label, operations: count, seconds: (performance.now() - t0) / 1000, latency: summarize(h) };
}

function servicePatch(hub: RunningHub, host: string, token: string, deviceId: string, body: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request({
      host: '127.0.0.1', servername: host, port: hub.httpsPort, method: 'PATCH', path: `/twins/${encodeURIComponent(deviceId)}?api-version=2021-04-12`, ca: hub.tls.caPem,
      headers: { host, authorization: token, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), 'if-match': '*' },
    }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PATCH /twins/${deviceId} answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function run(argv: string[]): Promise<void> {
  const { values: args } = parseArgs({
    args: argv,
    options: { devices: { type: 'string', default: '20' }, patches: { type: 'string', default: '20' }, desired: { type: 'string', default: '50' } },
    allowPositionals: true,
  });
  const deviceCount = Number(args.devices);
  const patches = Number(args.patches);
  const desiredCount = Number(args.desired);
  console.log(`twins benchmark: ${deviceCount} MQTT devices, ${patches} round trips each, ${desiredCount} desired updates; embedded hub (EmbeddedLog + PGlite) in this process`);

  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-twins-'));
  const config = loadConfig({ env: { TRIBUTARY_DATA_DIR: dataDir, TRIBUTARY_PORTS_MQTTS: '0', TRIBUTARY_PORTS_HTTPS: '0', TRIBUTARY_OPS_PORT: '0' } });
  const hub = await startHub(config, { listenHost: '127.0.0.1' });
  const host = config.hostNames[0] ?? 'localhost';
  const devices: Device[] = [];
  try {
    for (let d = 0; d < deviceCount; d++) {
      const id = `twin-bench-${d}`;
      const created = await hub.registry.putDevice(id, {});
      devices.push(await connectDevice(hub, host, id, created.authentication.symmetricKey.primaryKey ?? ''));
    }
    const cs = parseServiceConnectionString(hub.serviceConnectionString);
    const serviceToken = createSasToken({ resourceUri: host, key: cs.key, keyName: cs.keyName, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
    const desiredVersion = new Map<string, number>(devices.map((d) => [d.id, 1]));

    // Warm-up: one of each per device (JIT, store caches, consumer groups settled).
    await timed('warm-up', devices, 1, async (d) => {
      const rid = randomUUID();
      const answered = waitFor(d.pending, rid);
      await d.client.publishAsync(`$iothub/twin/PATCH/properties/reported/?$rid=${rid}`, JSON.stringify({ warm: true }), { qos: 0 });
      await answered;
      await d.client.publishAsync(`devices/${d.id}/messages/events/`, 'warm', { qos: 1 });
    });

    const phases: Phase[] = [];
    phases.push(await timed('baseline: QoS 1 telemetry (PUBACK)', devices, patches, async (d, i) => {
      await d.client.publishAsync(`devices/${d.id}/messages/events/`, JSON.stringify({ seq: i, temperature: 21.5 }), { qos: 1 });
    }));
    phases.push(await timed('reported PATCH round trip (204)', devices, patches, async (d, i) => {
      const rid = randomUUID();
      const answered = waitFor(d.pending, rid);
      await d.client.publishAsync(`$iothub/twin/PATCH/properties/reported/?$rid=${rid}`, JSON.stringify({ seq: i, status: { ok: true } }), { qos: 0 });
      await answered;
    }));
    const { log, serde } = hub.platform;
    phases.push(await sequential('baseline: command → device (DesiredPatch on the log)', devices, desiredCount, async (d, i) => {
      // A version the twin never reaches, so it cannot be confused with a real notification.
      const version = 1_000_000 + i;
      const arrived = waitFor(d.desired, version);
      const command: CloudCommand = { kind: 'DesiredPatch', commandId: randomUUID(), deviceId: d.id, version, body: Buffer.from(JSON.stringify({ probe: i, $version: version })), enqueuedTime: Date.now() };
      await log.produce(TOPICS.cloudCommands, [{ key: d.id, value: await serde.encode(TOPICS.cloudCommands, command) }]);
      await arrived;
    }));
    phases.push(await sequential('desired update → device (PATCH /twins/{id})', devices, desiredCount, async (d, i) => {
      const version = desiredVersion.get(d.id)! + 1;
      desiredVersion.set(d.id, version);
      const arrived = waitFor(d.desired, version);
      await servicePatch(hub, host, serviceToken, d.id, { properties: { desired: { interval: i } } });
      await arrived;
    }));

    const byLabel = (prefix: string) => phases.find((p) => p.label.startsWith(prefix))!;
    const ratio: Record<string, string> = {
      [phases[1]!.label]: `${(phases[1]!.latency.p50 / byLabel('baseline: QoS').latency.p50).toFixed(1)}× telemetry`,
      [phases[3]!.label]: `${(phases[3]!.latency.p50 / byLabel('baseline: command').latency.p50).toFixed(1)}× command`,
    };
    const ms = (v: number) => v.toFixed(2);
    console.log(formatTable(
      ['phase', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'max ms', 'p50 vs baseline'],
      phases.map((p) => [p.label, String(p.operations), Math.round(p.operations / p.seconds).toLocaleString(), ms(p.latency.p50), ms(p.latency.p99), ms(p.latency.max), ratio[p.label] ?? '']),
      [0, 6],
    ));
  } finally {
    await Promise.all(devices.map((d) => d.client.endAsync().catch(() => undefined)));
    await hub.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
