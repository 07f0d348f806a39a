/**
 * Starts a Tributary ingest node as a child process (hub-process.ts) and describes it as a simulator target. The
 * bench can also point at a hub someone started by hand (`--tributary-url …`): then nothing is spawned.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { IotHubTarget } from '../simulator/target.ts';
import { GC_DONE, READY_PREFIX, type HubProcessInput, type HubProcessReady } from './hub-process.ts';

export interface HubHandle {
  target: IotHubTarget;
  /** The server process, for RSS. */
  pid: number;
  /** Runs a full garbage collection in the hub process (before RSS readings). */
  gc(): Promise<void>;
  close(): Promise<void>;
}


/** A random base64 key for the bench devices (IoT Hub keys are 32 random bytes, base64). */
export function benchDeviceKey(): string {
  return randomBytes(32).toString('base64');
}

export async function startTributaryHub(o: { devices: { prefix: string; count: number }; hubName?: string; port?: number; startTimeoutMs?: number }): Promise<HubHandle> {
  const deviceKey = benchDeviceKey();
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  const input: HubProcessInput = { hubName: o.hubName ?? 'localhost', devices: o.devices, deviceKey, port: o.port ?? 0, dataDir };
  const entry = fileURLToPath(new URL('./hub-process.ts', import.meta.url));
  const env = { TRIBUTARY_KAFKA_BROKERS: '127.0.0.1:9092', TRIBUTARY_LOG_LEVEL: 'warn', ...process.env };
  const removeDataDir = () => rm(dataDir, { recursive: true, force: true });
  const provisioning = spawn(process.execPath, ['--import', 'tsx', entry, JSON.stringify({ ...input, provisionOnly: true })], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const provisioned = await new Promise<number>((resolve) => provisioning.once('exit', (code) => resolve(code ?? 1)));
  if (provisioned !== 0) {
    await removeDataDir();
    throw new Error(`provisioning the bench devices failed (exit code ${provisioned}; its stderr is above)`);
  }
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', entry, JSON.stringify(input)], { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines = createInterface({ input: child.stdout! });
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
  const ready = await new Promise<HubProcessReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Tributary hub did not start within ${(o.startTimeoutMs ?? 120_000) / 1000} s`)), o.startTimeoutMs ?? 120_000);
    lines.on('line', (line) => {
      if (!line.startsWith(READY_PREFIX)) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice(READY_PREFIX.length)) as HubProcessReady);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the Tributary hub process exited with code ${code} before it was ready (its stderr is above)`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await removeDataDir();
    throw err;
  });
  return {
    pid: ready.pid,
    target: { kind: 'iothub', name: 'tributary', host: '127.0.0.1', port: ready.port, hubName: ready.hubName, caPem: ready.caPem, deviceKey },
    gc: () =>
      new Promise<void>((resolve) => {
        const onLine = (line: string) => {
          if (line !== GC_DONE) return;
          lines.off('line', onLine);
          resolve();
        };
        lines.on('line', onLine);
        child.stdin!.write('gc\n');
      }),
    async close() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      await removeDataDir();
    },
  };
}
