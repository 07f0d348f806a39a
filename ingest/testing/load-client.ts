/**
 * The device side of ingest/cost.bench.ts, in its own process so the hub's CPU time (process.cpuUsage) and heap are
 * the hub's alone. Raw mqtt-packet over TLS (no mqtt.js: the client's own cost does not matter here, but a small
 * client leaves more of a shared machine to the hub). Driven over IPC:
 *   parent → { cmd: 'connect', ... }  child → { event: 'connected', open }
 *   parent → { cmd: 'publish', messages }  child → { event: 'published', acked, ms }
 *   parent → { cmd: 'close' }  (the child exits)
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { generate, parser as createParser, type Packet } from 'mqtt-packet';
import { createSasToken } from '../../core/auth/sas.ts';

export interface LoadClientConnect {
  cmd: 'connect';
  port: number;
  host: string;
  caPem: string;
  deviceIds: string[];
  key: string;
  /** Publishes awaiting PUBACK per device. */
  inFlight: number;
  payloadBytes: number;
  /** Connections opened at once. */
  connectConcurrency: number;
}

type Command = LoadClientConnect | { cmd: 'publish'; messages: number } | { cmd: 'close' };

interface Device {
  id: string;
  socket: TLSSocket;
  nextId: number;
  inFlight: number;
  seq: number;
}

let config: LoadClientConnect | undefined;
const devices: Device[] = [];
let budget = 0;
let acked = 0;
let target = 0;
let started = 0;

function send(msg: unknown): void {
  process.send?.(msg);
}

function payload(id: string, seq: number, size: number): Buffer {
  const bare = `{"deviceId":"${id}","seq":${seq},"ts":${Date.now()},"temp":21.5,"hum":40.25`;
  const pad = size - bare.length - 10;
  return Buffer.from(pad < 0 ? `${bare}}` : `${bare},"pad":"${'x'.repeat(pad)}"}`);
}

/** The property bag the official SDK sends with a JSON message (message id, content type and encoding, one app property). */
function topicOf(id: string, seq: number): string {
  return `devices/${id}/messages/events/%24.mid=${id}.${seq}&%24.ct=application%2Fjson&%24.ce=utf-8&sentAt=${Date.now()}`;
}

function pump(d: Device): void {
  const c = config!;
  while (d.inFlight < c.inFlight && budget > 0) {
    budget--;
    d.inFlight++;
    const messageId = d.nextId;
    d.nextId = d.nextId >= 65535 ? 1 : d.nextId + 1;
    d.seq++;
    d.socket.write(generate({ cmd: 'publish', topic: topicOf(d.id, d.seq), payload: payload(d.id, d.seq, c.payloadBytes), qos: 1, messageId, retain: false, dup: false }));
  }
}

function openDevice(c: LoadClientConnect, id: string): Promise<Device | undefined> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: c.host, port: c.port, ca: c.caPem, servername: 'localhost' });
    const device: Device = { id, socket, nextId: 1, inFlight: 0, seq: 0 };
    const parser = createParser({ protocolVersion: 4 });
    let connected = false;
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connack') {
        connected = p.returnCode === 0;
        resolve(connected ? device : undefined);
      } else if (p.cmd === 'puback') {
        device.inFlight--;
        acked++;
        if (acked >= target && target > 0) {
          send({ event: 'published', acked, ms: performance.now() - started });
          target = 0;
        }
        pump(device);
      }
    });
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.on('error', () => resolve(undefined));
    socket.on('close', () => {
      if (!connected) resolve(undefined);
    });
    socket.once('secureConnect', () => {
      const password = createSasToken({ resourceUri: `localhost/devices/${id}`, key: c.key, expiresAt: Math.floor(Date.now() / 1000) + 3600 });
      socket.write(generate({
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: false, clientId: id, keepalive: 600,
        username: `localhost/${id}/?api-version=2021-04-12`, password: Buffer.from(password),
      }));
    });
  });
}

async function connectAll(c: LoadClientConnect): Promise<void> {
  config = c;
  let next = 0;
  const worker = async () => {
    while (next < c.deviceIds.length) {
      const d = await openDevice(c, c.deviceIds[next++]!);
      if (d) devices.push(d);
    }
  };
  await Promise.all(Array.from({ length: c.connectConcurrency }, worker));
  send({ event: 'connected', open: devices.length });
}

process.on('message', (m: Command) => {
  if (m.cmd === 'connect') void connectAll(m);
  else if (m.cmd === 'publish') {
    acked = 0;
    target = m.messages;
    budget = m.messages;
    started = performance.now();
    for (const d of devices) pump(d);
  } else {
    for (const d of devices) d.socket.destroy();
    process.exit(0);
  }
});
