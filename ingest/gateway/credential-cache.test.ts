/**
 * The credential cache keeps what repeats within its TTL (refused connects, concurrent connects of one id) and lets a
 * successful connect release its entry, so an idle connection carries no cached credentials (issue 5 item 7).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createSasToken, deviceResourceUri } from '../../core/auth/sas.ts';
import { TributaryError } from '../../core/errors/index.ts';
import type { IdentityCredentials } from '../../core/registry/index.ts';
import { Authenticator } from './authenticator.ts';
import { CredentialCache, type CredentialSource } from './credential-cache.ts';

const HOST = 'hub.example.net';

function sasDevice(deviceId: string, key: string): IdentityCredentials {
  return {
    deviceId, generationId: 'g1', status: 'enabled', authType: 'sas', primaryKey: key, secondaryKey: key,
    primaryThumbprint: null, secondaryThumbprint: null, iotEdge: false,
  };
}

/** A registry of one device that counts its lookups. */
function source(device: IdentityCredentials): CredentialSource & { lookups: number } {
  const s = {
    lookups: 0,
    getCredentials(deviceId: string): Promise<IdentityCredentials | undefined> {
      s.lookups++;
      return Promise.resolve(deviceId === device.deviceId ? { ...device } : undefined);
    },
  };
  return s;
}

function token(deviceId: string, key: string, now: number): string {
  return createSasToken({ resourceUri: deviceResourceUri(HOST, deviceId), key, expiresAt: Math.floor(now / 1000) + 3600 });
}

test('a successful connect releases its entry; a refused one stays cached, and a wrong key is still refused', async () => {
  const now = 1_800_000_000_000;
  const key = randomBytes(32).toString('base64');
  const wrong = randomBytes(32).toString('base64');
  const src = source(sasDevice('dev-1', key));
  const cache = new CredentialCache(src, 60_000, 100, () => now);
  const auth = new Authenticator({ hostNames: [HOST], credentials: cache, lookupPolicy: () => Promise.resolve(undefined), clock: () => now });
  const connect = async (k: string) => {
    const identity = await auth.authenticate({ protocol: 'Mqtt', hostName: HOST, deviceId: 'dev-1', sasToken: token('dev-1', k, now) });
    cache.release('dev-1');
    return identity;
  };

  await assert.rejects(connect(wrong), (err: unknown) => err instanceof TributaryError && err.code === 'IotHubUnauthorizedAccess');
  await assert.rejects(connect(wrong), (err: unknown) => err instanceof TributaryError && err.code === 'IotHubUnauthorizedAccess');
  assert.equal(src.lookups, 1, 'a device retrying with a wrong key is answered from the cache');
  assert.equal(cache.size, 1);

  assert.equal((await connect(key)).deviceId, 'dev-1');
  await Promise.resolve(); // release drops the entry once its lookup is known to have found the device
  assert.equal(cache.size, 0, 'the connected device keeps no cached credentials');

  await assert.rejects(connect(wrong), (err: unknown) => err instanceof TributaryError && err.code === 'IotHubUnauthorizedAccess');
  assert.equal(src.lookups, 2, 'after a release the next connect looks the device up again');
  assert.equal((await connect(key)).deviceId, 'dev-1');
});

test('release keeps a lookup in flight (concurrent connects share it) and an unknown identity\'s entry', async () => {
  let resolve!: (c: IdentityCredentials | undefined) => void;
  let lookups = 0;
  const cache = new CredentialCache({
    getCredentials: () => {
      lookups++;
      return new Promise((r) => { resolve = r; });
    },
  }, 60_000);
  const first = cache.get('dev-2');
  cache.release('dev-2');
  const second = cache.get('dev-2');
  assert.equal(lookups, 1);
  resolve(undefined);
  assert.equal(await first, undefined);
  assert.equal(await second, undefined);
  cache.release('dev-2');
  await Promise.resolve();
  assert.equal(cache.size, 1, 'an unknown identity stays cached (briefly), releasing it does not drop it');
});

test('expired entries are dropped as later lookups pass them', async () => {
  let now = 0;
  const cache = new CredentialCache({ getCredentials: (id) => Promise.resolve(sasDevice(id, 'k')) }, 1000, 100, () => now);
  await cache.get('a');
  await cache.get('b');
  assert.equal(cache.size, 2);
  now = 1500;
  await cache.get('c');
  assert.equal(cache.size, 1, 'a and b expired and left the map; only c remains');
});
