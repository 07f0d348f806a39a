/**
 * Raw MQTT clients for tests that must send what the official SDK never would (another device's topic, QoS 2,
 * oversized payloads, garbage bytes): mqtt.js 5 speaking 3.1.1 over TLS with the test CA trusted.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import { createSasToken } from '../../core/auth/sas.ts';
import { HOST } from './ingest-fixture.ts';

export function deviceToken(deviceId: string, key: string, o: { expiresAt?: number; moduleId?: string } = {}): string {
  const resourceUri = `${HOST}/devices/${deviceId}${o.moduleId ? `/modules/${o.moduleId}` : ''}`;
  return createSasToken({ resourceUri, key, expiresAt: o.expiresAt ?? Math.floor(Date.now() / 1000) + 3600 });
}

export interface RawConnectOptions {
  port: number;
  deviceId: string;
  password?: string;
  clean?: boolean;
  keepalive?: number;
}

/** Connects and resolves with the client, or rejects with mqtt.js's error (which carries the CONNACK code). */
export async function rawConnect(o: RawConnectOptions): Promise<MqttClient> {
  return mqtt.connectAsync(`mqtts://${HOST}:${o.port}`, {
    protocolVersion: 4,
    clientId: o.deviceId,
    username: `${HOST}/${o.deviceId}/?api-version=2021-04-12`,
    ...(o.password !== undefined ? { password: o.password } : {}),
    clean: o.clean ?? true,
    keepalive: o.keepalive ?? 60,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
}

/** Resolves when the server closed the client's connection. */
export function closedByServer(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected && client.disconnected) return resolve();
    client.once('close', () => resolve());
  });
}

/** A bare TLS socket to the MQTT port, for garbage bytes. */
export function rawTlsSocket(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: HOST, port, servername: HOST }, () => resolve(socket));
    socket.once('error', reject);
  });
}
