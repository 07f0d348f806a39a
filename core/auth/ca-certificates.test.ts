import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import { migrate } from '../store/migrate.ts';
import { PgliteStore } from '../store/pglite-store.ts';
import { createCertificateAuthority, createSelfSignedCertificate, issueCertificate, type CertificateAndKey } from '../tls/index.ts';
import { CaCertificateStore } from './ca-certificates.ts';
import { certificateThumbprint, verifyCertificateChain } from './x509.ts';

// One PGlite database for the file (it takes seconds to open); each test uses its own certificate names.
let store: PgliteStore;
let certs: CaCertificateStore;
let ca: CertificateAndKey;
let otherCa: CertificateAndKey;

before(async () => {
  store = await PgliteStore.open();
  await migrate(store);
  certs = new CaCertificateStore(store);
  ca = await createCertificateAuthority({ commonName: 'Fleet CA' });
  otherCa = await createCertificateAuthority({ commonName: 'Fleet CA' });
});
after(async () => { await store.close(); });

const coded = (code: string, pattern: RegExp = /./) => (e: unknown) => e instanceof TributaryError && e.code === code && pattern.test(e.message);

describe('CaCertificateStore: the verified-CA flow', () => {
  test('upload → code → proof of possession → verified → anchors device chains', async () => {
    const added = await certs.add('fleet-ca', ca.certPem);
    assert.equal(added.name, 'fleet-ca');
    assert.equal(added.properties.isVerified, false);
    assert.equal(added.properties.subject, 'CN=Fleet CA');
    assert.equal(added.properties.thumbprint, certificateThumbprint(ca.certPem));
    assert.match(added.properties.expiry, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.equal(added.properties.certificate.trim(), ca.certPem.trim());
    assert.deepEqual(await certs.get('fleet-ca'), added);
    assert.deepEqual(await certs.verifiedCaPems(), []);

    const device = await issueCertificate({ issuer: ca, commonName: 'dev-ca-1', usage: 'client' });
    assert.equal((await verifyCertificateChain({ leafPem: device.certPem, trustedCaPems: await certs.verifiedCaPems() })).ok, false);

    await assert.rejects(certs.generateVerificationCode('fleet-ca', 'stale-etag'), coded('PreconditionFailed'));
    const withCode = await certs.generateVerificationCode('fleet-ca', `"${added.etag}"`); // quoted, as If-Match sends it
    const code = withCode.properties.verificationCode;
    assert.match(code, /^[0-9A-F]{48}$/);
    assert.notEqual(withCode.etag, added.etag);

    // Wrong proofs: CN not the code; right CN but signed by another CA's key; a self-signed certificate with the code.
    const wrongCn = await issueCertificate({ issuer: ca, commonName: 'not-the-code', usage: 'client' });
    await assert.rejects(certs.verify('fleet-ca', withCode.etag, wrongCn.certPem), coded('ArgumentInvalid', /CN 'not-the-code' is not the verification code/));
    const wrongKey = await issueCertificate({ issuer: otherCa, commonName: code, usage: 'client' });
    await assert.rejects(certs.verify('fleet-ca', withCode.etag, wrongKey.certPem), coded('ArgumentInvalid', /not signed by the private key/));
    const selfSigned = await createSelfSignedCertificate({ commonName: code });
    await assert.rejects(certs.verify('fleet-ca', withCode.etag, selfSigned.certPem), coded('ArgumentInvalid', /not signed by the private key/));

    const proof = await issueCertificate({ issuer: ca, commonName: code, usage: 'client' });
    await assert.rejects(certs.verify('fleet-ca', added.etag, proof.certPem), coded('PreconditionFailed'));
    const verified = await certs.verify('fleet-ca', withCode.etag, proof.certPem);
    assert.equal(verified.properties.isVerified, true);
    assert.equal((await certs.get('fleet-ca')).properties.isVerified, true);
    // The code is single-use.
    await assert.rejects(certs.verify('fleet-ca', verified.etag, proof.certPem), coded('ArgumentInvalid', /no outstanding verification code/));

    const anchors = await certs.verifiedCaPems();
    assert.equal(anchors.length, 1);
    assert.equal((await verifyCertificateChain({ leafPem: device.certPem, trustedCaPems: anchors })).ok, true);

    // Deleting takes the etag; afterwards the CA no longer anchors anything.
    await assert.rejects(certs.delete('fleet-ca', withCode.etag), coded('PreconditionFailed'));
    await certs.delete('fleet-ca', verified.etag);
    await assert.rejects(certs.get('fleet-ca'), coded('CertificateNotFound', /No CA certificate named 'fleet-ca'/));
    assert.deepEqual(await certs.verifiedCaPems(), []);
  });

  test('names, duplicates, replacement, listing, unknown names, non-CA certificates, base64 DER', async () => {
    await assert.rejects(certs.add('bad name!', ca.certPem), coded('ArgumentInvalid', /name 'bad name!' is invalid/));
    const leaf = await issueCertificate({ issuer: ca, commonName: 'dev', usage: 'client' });
    await assert.rejects(certs.add('leaf', leaf.certPem), coded('ArgumentInvalid', /not a CA certificate/));
    await assert.rejects(certs.add('junk', 'not a certificate!'), coded('ArgumentInvalid'));

    const der64 = otherCa.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    const a = await certs.add('list-a', der64);
    assert.equal(a.properties.thumbprint, certificateThumbprint(otherCa.certPem));
    await certs.add('list-b', ca.certPem, { isVerified: true });
    await assert.rejects(certs.add('list-a', ca.certPem), coded('PreconditionFailed', /already exists/));
    await assert.rejects(certs.add('list-a', ca.certPem, { ifMatch: 'nope' }), coded('PreconditionFailed'));
    const replaced = await certs.add('list-a', ca.certPem, { ifMatch: a.etag });
    assert.equal(replaced.properties.thumbprint, certificateThumbprint(ca.certPem));
    assert.notEqual(replaced.etag, a.etag);

    const names = (await certs.list()).map((c) => c.name);
    assert.ok(names.includes('list-a') && names.includes('list-b'));
    assert.equal((await certs.list()).find((c) => c.name === 'list-b')?.properties.isVerified, true);

    for (const op of [() => certs.get('ghost'), () => certs.delete('ghost', '*'), () => certs.generateVerificationCode('ghost', '*'),
      () => certs.verify('ghost', '*', leaf.certPem)]) {
      await assert.rejects(op(), coded('CertificateNotFound', /No CA certificate named 'ghost'/));
    }
    await certs.delete('list-a', '*');
    await certs.delete('list-b', '*');
  });
});
