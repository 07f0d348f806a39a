/**
 * Registers the bench devices through the service REST API's bulk operation (POST /devices, IoT Hub's "Bulk Registry -
 * Update Registry", at most 100 items per request: core/registry/bulk.ts), a few requests at a time — the way a back
 * end provisions a fleet, so the registry path is part of what the harness exercises.
 */
import { randomBytes } from 'node:crypto';
import type { ServiceClient } from '../../cli/service-client.ts';
import { certificateThumbprint } from '../../core/auth/index.ts';
import { TributaryError } from '../../core/errors/index.ts';
import { createSelfSignedCertificate } from '../../core/tls/index.ts';
import { deviceId, usesX509, type Scenario } from '../simulator/scenario.ts';

export const BULK_MAX_ITEMS = 100;

export interface Credentials {
  /** Base64 symmetric key of every SAS device (IoT Hub keys are 32 random bytes). */
  sasKey: string;
  /** The self-signed certificate every X.509 device presents, when the auth mix has any. */
  x509?: { certPem: string; keyPem: string; thumbprint: string };
}

export async function benchCredentials(scenario: Pick<Scenario, 'authMix'>): Promise<Credentials> {
  const sasKey = randomBytes(32).toString('base64');
  if (scenario.authMix.x509 <= 0) return { sasKey };
  const cert = await createSelfSignedCertificate({ commonName: 'tributary-bench-device', validityDays: 2 });
  return { sasKey, x509: { ...cert, thumbprint: certificateThumbprint(cert.certPem) } };
}

/** The bulk items of devices [start, end): SAS or self-signed X.509 by the scenario's auth mix. */
export function bulkItems(scenario: Pick<Scenario, 'authMix' | 'deviceIdPrefix'>, credentials: Credentials, start: number, end: number, importMode = 'create'): Array<Record<string, unknown>> {
  const items: Array<Record<string, unknown>> = [];
  for (let i = start; i < end; i++) {
    const x509 = usesX509(scenario.authMix, i);
    if (x509 && !credentials.x509) throw new TributaryError('ArgumentInvalid', 'the auth mix has X.509 devices but no bench certificate was made (benchCredentials)');
    const authentication = x509
      ? { type: 'selfSigned', x509Thumbprint: { primaryThumbprint: credentials.x509!.thumbprint, secondaryThumbprint: credentials.x509!.thumbprint } }
      : { type: 'sas', symmetricKey: { primaryKey: credentials.sasKey, secondaryKey: credentials.sasKey } };
    items.push({ id: deviceId(scenario, i), importMode, status: 'enabled', authentication });
  }
  return items;
}

interface BulkResult {
  isSuccessful?: boolean;
  errors?: Array<{ deviceId?: string; errorCode?: string; errorStatus?: string }>;
}

/** Creates (or with `importMode: 'delete'` removes) devices 0..devices-1, `concurrency` requests at a time. */
export async function provisionDevices(
  service: ServiceClient,
  scenario: Pick<Scenario, 'authMix' | 'deviceIdPrefix' | 'devices'>,
  credentials: Credentials,
  o: { concurrency?: number; importMode?: string; signal?: AbortSignal; onProgress?: (done: number) => void } = {},
): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < scenario.devices && !o.signal?.aborted) {
      const start = next;
      const end = Math.min(scenario.devices, start + BULK_MAX_ITEMS);
      next = end;
      const result = await service.call<BulkResult>('POST', '/devices', bulkItems(scenario, credentials, start, end, o.importMode));
      if (result.isSuccessful === false) {
        const first = result.errors?.slice(0, 3).map((e) => `${e.deviceId}: ${e.errorCode} ${e.errorStatus ?? ''}`.trim()).join('; ');
        throw new TributaryError('ServerError', `provisioning the bench devices failed (${result.errors?.length ?? '?'} errors, first: ${first}); see the hub log`);
      }
      done += end - start;
      o.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 4 }, worker));
}
