/**
 * The `tributary` CLI against a running hub, as an operator would use it: connection string, device create / show /
 * connection-string / delete, SAS minting; and the CA certificate proof-of-possession flow through the API.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseSasToken, verifySasToken, certificateCommonName } from '../../core/auth/index.ts';
import { createCertificateAuthority, issueCertificate } from '../../core/tls/index.ts';
import { ServiceClient } from '../../cli/service-client.ts';
import { startTestHub, type TestHub } from '../support/test-hub.ts';
import { uniqueName } from '../support/services.ts';

const run = promisify(execFile);
const bin = join(import.meta.dirname, '..', '..', 'cli', 'bin.js');
let testHub: TestHub;

before(async () => {
  testHub = await startTestHub();
});
after(() => testHub?.close());

async function cli(...args: string[]): Promise<string> {
  const env = { ...process.env, TRIBUTARY_DATA_DIR: testHub.hub.platform.dataDir, TRIBUTARY_LOG_LEVEL: 'error' };
  return (await run(process.execPath, [bin, ...args], { env })).stdout.trim();
}

test('device lifecycle and tokens from the command line', async () => {
  assert.equal(await cli('connection-string'), testHub.hub.serviceConnectionString);

  const id = uniqueName('cli');
  const created = JSON.parse(await cli('device', 'create', id)) as { deviceId: string; authentication: { symmetricKey: { primaryKey: string } } };
  assert.equal(created.deviceId, id);
  const key = created.authentication.symmetricKey.primaryKey;

  assert.equal(await cli('device', 'connection-string', id), `HostName=localhost;DeviceId=${id};SharedAccessKey=${key}`);
  const token = parseSasToken(await cli('sas', '--device', id, '--ttl', '120'));
  assert.equal(token.resource, `localhost/devices/${id}`);
  verifySasToken(token, [key]);

  await cli('device', 'delete', id);
  await assert.rejects(cli('device', 'show', id), /DeviceNotFound/);
});

test('a CA certificate becomes verified only with proof of possession of its key', async () => {
  const client = await ServiceClient.forConfig(testHub.hub.config);
  const ca = await createCertificateAuthority({ commonName: 'fleet CA' });
  const name = uniqueName('fleet');
  type Cert = { etag: string; properties: { isVerified: boolean; verificationCode?: string } };
  const uploaded = await client.call<Cert>('PUT', `/certificates/${name}`, { properties: { certificate: ca.certPem } });
  assert.equal(uploaded.properties.isVerified, false);

  const withCode = await client.call<Cert>('POST', `/certificates/${name}/generateVerificationCode`, undefined, { 'if-match': uploaded.etag });
  const code = withCode.properties.verificationCode!;
  const impostor = await createCertificateAuthority({ commonName: 'impostor' });
  const forged = await issueCertificate({ issuer: impostor, commonName: code, usage: 'client' });
  await assert.rejects(client.call('POST', `/certificates/${name}/verify`, { certificate: forged.certPem }, { 'if-match': withCode.etag }), { code: 'ArgumentInvalid' });

  const proof = await issueCertificate({ issuer: ca, commonName: code, usage: 'client' });
  assert.equal(certificateCommonName(proof.certPem), code);
  const verified = await client.call<Cert>('POST', `/certificates/${name}/verify`, { certificate: proof.certPem }, { 'if-match': withCode.etag });
  assert.equal(verified.properties.isVerified, true);
  assert.deepEqual(await testHub.hub.certificates.verifiedCaPems().then((pems) => pems.length >= 1), true);
});

test('routes, endpoints and the fallback route from the command line', async () => {
  const endpoint = uniqueName('cli_ep').replaceAll('-', '_');
  assert.match(await cli('endpoint', 'set', endpoint, '--type', 'kafka'), /"type": "kafka"/);
  await cli('route', 'set', 'cli-hot', '--endpoint', endpoint, '--condition', '$body.temperature > 30');
  assert.match(await cli('route', 'list'), new RegExp(`^cli-hot\\tDeviceMessages\\tenabled\\t${endpoint}\\t\\$body.temperature > 30$`, 'm'));
  await assert.rejects(cli('route', 'set', 'cli-bad', '--endpoint', endpoint, '--condition', 'LENGTH('), /ArgumentInvalid/);
  assert.equal(JSON.parse(await cli('fallback', '--disable')).isEnabled, false);
  assert.equal(JSON.parse(await cli('fallback', '--enable')).isEnabled, true);
  await cli('route', 'delete', 'cli-hot');
  await cli('endpoint', 'delete', endpoint);
  assert.doesNotMatch(await cli('route', 'list'), /cli-hot/);
});
