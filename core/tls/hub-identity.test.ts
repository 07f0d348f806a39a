import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import { createCertificateAuthority, issueCertificate } from './certificates.ts';
import { bareHost, ensureHubTlsIdentity } from './hub-identity.ts';

const dirs: string[] = [];
after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tributary-tls-'));
  dirs.push(d);
  return d;
}

describe('ensureHubTlsIdentity (generated)', () => {
  test('first start creates CA + server certificate covering every host; second start reuses them; new host → re-issued from the same CA', async () => {
    const dataDir = await tempDir();
    const first = await ensureHubTlsIdentity({ dataDir, hostNames: ['localhost', '127.0.0.1', 'hub.local:8883'] });
    assert.equal(first.caPath, join(dataDir, 'tls', 'ca.pem'));
    assert.equal(await readFile(first.caPath, 'utf8'), first.caPem);
    assert.equal(await readFile(join(dataDir, 'tls', 'server.pem'), 'utf8'), first.certPem);
    for (const keyFile of ['ca-key.pem', 'server-key.pem']) {
      assert.equal((await stat(join(dataDir, 'tls', keyFile))).mode & 0o777, 0o600, keyFile);
    }
    const cert = new X509Certificate(first.certPem);
    assert.equal(cert.subjectAltName, 'DNS:localhost, DNS:hub.local, IP Address:127.0.0.1');
    assert.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(first.keyPem)));
    assert.ok(cert.verify(new X509Certificate(first.caPem).publicKey));

    const second = await ensureHubTlsIdentity({ dataDir, hostNames: ['hub.local', 'localhost', '127.0.0.1'] });
    assert.deepEqual(second, first);

    const third = await ensureHubTlsIdentity({ dataDir, hostNames: ['localhost', '127.0.0.1', 'hub.local', '10.1.2.3', 'mqtt.hub.local'] });
    assert.equal(third.caPem, first.caPem);
    assert.notEqual(third.certPem, first.certPem);
    const reissued = new X509Certificate(third.certPem);
    assert.equal(reissued.subjectAltName, 'DNS:localhost, DNS:hub.local, DNS:mqtt.hub.local, IP Address:127.0.0.1, IP Address:10.1.2.3');
    assert.ok(reissued.verify(new X509Certificate(first.caPem).publicKey));
    assert.equal(await readFile(join(dataDir, 'tls', 'server.pem'), 'utf8'), third.certPem);
  });

  test('a server certificate close to expiry, or with a foreign key, is re-issued; a broken CA is replaced', async () => {
    const dataDir = await tempDir();
    const first = await ensureHubTlsIdentity({ dataDir, hostNames: ['localhost'] });
    const ca = { certPem: first.caPem, keyPem: await readFile(join(dataDir, 'tls', 'ca-key.pem'), 'utf8') };
    const shortLived = await issueCertificate({ issuer: ca, commonName: 'localhost', dnsNames: ['localhost'], usage: 'server', validityDays: 10 });
    await writeFile(join(dataDir, 'tls', 'server.pem'), shortLived.certPem);
    await writeFile(join(dataDir, 'tls', 'server-key.pem'), shortLived.keyPem);
    const renewed = await ensureHubTlsIdentity({ dataDir, hostNames: ['localhost'] });
    assert.notEqual(renewed.certPem, shortLived.certPem);
    assert.ok(new Date(new X509Certificate(renewed.certPem).validTo).getTime() > Date.now() + 300 * 86_400_000);

    await writeFile(join(dataDir, 'tls', 'server-key.pem'), first.keyPem); // the key of another certificate
    const rekeyed = await ensureHubTlsIdentity({ dataDir, hostNames: ['localhost'] });
    assert.notEqual(rekeyed.certPem, renewed.certPem);
    assert.equal(rekeyed.caPem, first.caPem);

    await writeFile(join(dataDir, 'tls', 'ca-key.pem'), 'garbage');
    const newCa = await ensureHubTlsIdentity({ dataDir, hostNames: ['localhost'] });
    assert.notEqual(newCa.caPem, first.caPem);
    assert.ok(new X509Certificate(newCa.certPem).verify(new X509Certificate(newCa.caPem).publicKey));
  });
});

describe('ensureHubTlsIdentity (operator-provided files)', () => {
  test('used as they are; the CA defaults to the last certificate of the chain file', async () => {
    const dir = await tempDir();
    const ca = await createCertificateAuthority({ commonName: 'Corp CA' });
    const srv = await issueCertificate({ issuer: ca, commonName: 'hub.corp', dnsNames: ['hub.corp'], usage: 'server' });
    await writeFile(join(dir, 'chain.pem'), srv.certPem + ca.certPem);
    await writeFile(join(dir, 'key.pem'), srv.keyPem);
    await writeFile(join(dir, 'ca.pem'), ca.certPem);
    const id = await ensureHubTlsIdentity({ dataDir: dir, hostNames: ['hub.corp'], certFile: join(dir, 'chain.pem'), keyFile: join(dir, 'key.pem') });
    assert.equal(id.certPem, srv.certPem + ca.certPem);
    assert.equal(id.keyPem, srv.keyPem);
    assert.equal(id.caPem.trim(), ca.certPem.trim());
    assert.equal(id.caPath, join(dir, 'chain.pem'));
    const withCa = await ensureHubTlsIdentity({ dataDir: dir, hostNames: ['hub.corp'], certFile: join(dir, 'chain.pem'), keyFile: join(dir, 'key.pem'), caFile: join(dir, 'ca.pem') });
    assert.equal(withCa.caPath, join(dir, 'ca.pem'));
  });

  test('refused: key of another certificate, missing key file, cert without key', async () => {
    const dir = await tempDir();
    const ca = await createCertificateAuthority({ commonName: 'Corp CA' });
    const srv = await issueCertificate({ issuer: ca, commonName: 'hub.corp', dnsNames: ['hub.corp'], usage: 'server' });
    await writeFile(join(dir, 'cert.pem'), srv.certPem);
    await writeFile(join(dir, 'wrong-key.pem'), ca.keyPem);
    const configInvalid = (pattern: RegExp) => (e: unknown) => e instanceof TributaryError && e.code === 'ConfigInvalid' && pattern.test(e.message);
    await assert.rejects(ensureHubTlsIdentity({ dataDir: dir, hostNames: ['hub.corp'], certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'wrong-key.pem') }),
      configInvalid(/is not the private key of the certificate/));
    await assert.rejects(ensureHubTlsIdentity({ dataDir: dir, hostNames: ['hub.corp'], certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'nope.pem') }),
      configInvalid(/does not exist/));
    await assert.rejects(ensureHubTlsIdentity({ dataDir: dir, hostNames: ['hub.corp'], certFile: join(dir, 'cert.pem') }),
      configInvalid(/given together/));
  });
});

test('bareHost strips ports and IPv6 brackets, lower-cases names', () => {
  assert.deepEqual(['Hub.Local:8883', '[::1]:443', '[::1]', '::1', '127.0.0.1', 'localhost'].map(bareHost),
    ['hub.local', '::1', '::1', '::1', '127.0.0.1', 'localhost']);
});
