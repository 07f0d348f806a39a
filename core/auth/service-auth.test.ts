import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import serviceSas from 'azure-iothub/dist/shared_access_signature.js';
import { TributaryError } from '../errors/index.ts';
import { generateSymmetricKey } from './connection-string.ts';
import { DEFAULT_POLICIES, PERMISSIONS, type Permission, type SharedAccessPolicy } from './policies.ts';
import { createSasToken } from './sas.ts';
import { authenticateServiceRequest } from './service-auth.ts';

const HOST = 'hub.local';
const NOW = 1_800_000_000;
const SE = NOW + 3600;

const policies = new Map<string, SharedAccessPolicy>(DEFAULT_POLICIES.map((p) => [p.keyName, {
  keyName: p.keyName, rights: p.rights, primaryKey: generateSymmetricKey(), secondaryKey: generateSymmetricKey(),
}]));
const lookupPolicy = async (name: string) => policies.get(name);
const policy = (name: string): SharedAccessPolicy => policies.get(name) ?? assert.fail(`no policy ${name}`);

/** IoT Hub's permissions for its built-in policies, written out (not derived from hasPermission). */
const EXPECTED: Record<string, Permission[]> = {
  iothubowner: ['RegistryRead', 'RegistryWrite', 'ServiceConnect', 'DeviceConnect'],
  service: ['ServiceConnect'],
  device: ['DeviceConnect'],
  registryRead: ['RegistryRead'],
  registryReadWrite: ['RegistryRead', 'RegistryWrite'],
};

async function refused(authorization: string | undefined, required: Permission, pattern: RegExp): Promise<void> {
  await assert.rejects(authenticateServiceRequest(authorization, { hostName: HOST, required, lookupPolicy, nowSeconds: NOW }),
    (e: unknown) => e instanceof TributaryError && e.code === 'IotHubUnauthorizedAccess' && e.status === 401 && pattern.test(e.message));
}

describe('authenticateServiceRequest', () => {
  test('every default policy gets exactly its permissions (tokens from the service SDK)', async () => {
    assert.deepEqual(Object.keys(EXPECTED).sort(), DEFAULT_POLICIES.map((p) => p.keyName).sort());
    for (const [name, allowed] of Object.entries(EXPECTED)) {
      const token = serviceSas.create(HOST, name, policy(name).primaryKey, SE).toString();
      for (const required of PERMISSIONS) {
        if (allowed.includes(required)) {
          const got = await authenticateServiceRequest(token, { hostName: HOST, required, lookupPolicy, nowSeconds: NOW });
          assert.equal(got.keyName, name);
        } else {
          await refused(token, required, new RegExp(`'${name}' lacks the ${required} permission`));
        }
      }
    }
  });

  test('the secondary key works too, and the host matches case-insensitively', async () => {
    const token = createSasToken({ resourceUri: 'HUB.local', key: policy('iothubowner').secondaryKey, keyName: 'iothubowner', expiresAt: SE });
    const got = await authenticateServiceRequest(token, { hostName: HOST, required: 'RegistryWrite', lookupPolicy, nowSeconds: NOW });
    assert.equal(got.keyName, 'iothubowner');
  });

  test('refusals', async () => {
    const owner = policy('iothubowner');
    const good = createSasToken({ resourceUri: HOST, key: owner.primaryKey, keyName: 'iothubowner', expiresAt: SE });
    await refused(undefined, 'RegistryRead', /no Authorization header/);
    await refused('Bearer abc', 'RegistryRead', /Malformed SAS token/);
    await refused(createSasToken({ resourceUri: HOST, key: owner.primaryKey, keyName: 'iothubowner', expiresAt: NOW - 1 }), 'RegistryRead', /expired/);
    await refused(createSasToken({ resourceUri: HOST, key: generateSymmetricKey(), keyName: 'iothubowner', expiresAt: SE }), 'RegistryRead', /does not match/);
    await refused(createSasToken({ resourceUri: 'other.hub', key: owner.primaryKey, keyName: 'iothubowner', expiresAt: SE }), 'RegistryRead', /not for this hub/);
    // A device-scoped token (sr = host/devices/id) does not cover the hub, even when signed with a policy key.
    await refused(createSasToken({ resourceUri: `${HOST}/devices/d1`, key: owner.primaryKey, keyName: 'iothubowner', expiresAt: SE }), 'RegistryRead', /not for this hub/);
    await refused(createSasToken({ resourceUri: HOST, key: owner.primaryKey, expiresAt: SE }), 'RegistryRead', /no skn/);
    await refused(createSasToken({ resourceUri: HOST, key: owner.primaryKey, keyName: 'nobody', expiresAt: SE }), 'RegistryRead', /No shared access policy named 'nobody'/);
    await refused(good.replace('skn=iothubowner', 'skn=service'), 'ServiceConnect', /does not match/);
    await authenticateServiceRequest(good, { hostName: HOST, required: 'RegistryRead', lookupPolicy, nowSeconds: NOW });
  });
});
