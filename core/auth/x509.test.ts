import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCertificateAuthority, createSelfSignedCertificate, issueCertificate, type CertificateAndKey } from '../tls/index.ts';
import { certificateCommonName, certificateSubject, certificateThumbprint, normalizeCertificatePem, verifyCertificateChain } from './x509.ts';

const dir = mkdtempSync(join(tmpdir(), 'tributary-x509-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8' });
}

let root: CertificateAndKey;
let intermediate: CertificateAndKey;
let otherRoot: CertificateAndKey;
let leaf: CertificateAndKey;
let leafViaIntermediate: CertificateAndKey;

before(async () => {
  root = await createCertificateAuthority({ commonName: 'Test Root' });
  otherRoot = await createCertificateAuthority({ commonName: 'Test Root' }); // same name, different key
  intermediate = await issueCertificate({ issuer: root, commonName: 'Test Intermediate', usage: 'ca', validityDays: 1000 });
  leaf = await issueCertificate({ issuer: root, commonName: 'dev-x509', usage: 'client' });
  leafViaIntermediate = await issueCertificate({ issuer: intermediate, commonName: 'dev-2', usage: 'client' });
});

describe('thumbprints and names', () => {
  test('thumbprints equal openssl -fingerprint without colons (sha1 default, sha256)', () => {
    const path = file('leaf.pem', leaf.certPem);
    const sha1 = openssl('x509', '-noout', '-fingerprint', '-sha1', '-in', path).trim().split('=')[1]?.replace(/:/g, '');
    const sha256 = openssl('x509', '-noout', '-fingerprint', '-sha256', '-in', path).trim().split('=')[1]?.replace(/:/g, '');
    assert.match(certificateThumbprint(leaf.certPem), /^[0-9A-F]{40}$/);
    assert.equal(certificateThumbprint(leaf.certPem), sha1);
    assert.equal(certificateThumbprint(leaf.certPem, 'sha256'), sha256);
    assert.notEqual(certificateThumbprint(root.certPem), sha1);
  });

  test('common name and subject, also for a certificate openssl made', () => {
    assert.equal(certificateCommonName(leaf.certPem), 'dev-x509');
    assert.equal(certificateSubject(intermediate.certPem), 'CN=Test Intermediate');
    const key = join(dir, 'o.key');
    const cert = join(dir, 'o.pem');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/O=Acme/CN=ossl-device');
    const pem = execFileSync('cat', [cert], { encoding: 'utf8' });
    assert.equal(certificateCommonName(pem), 'ossl-device');
    assert.equal(certificateThumbprint(pem), openssl('x509', '-noout', '-fingerprint', '-sha1', '-in', cert).trim().split('=')[1]?.replace(/:/g, ''));
  });

  test('normalizeCertificatePem accepts PEM and bare base64 DER, refuses junk and bundles', () => {
    const der64 = leaf.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    assert.equal(normalizeCertificatePem(der64), normalizeCertificatePem(leaf.certPem));
    assert.throws(() => normalizeCertificatePem('not a certificate!'), /neither PEM nor base64/);
    assert.throws(() => normalizeCertificatePem('aGVsbG8gd29ybGQ='), /cannot be parsed as X.509/);
    assert.throws(() => normalizeCertificatePem(leaf.certPem + root.certPem), /bundle/);
  });
});

describe('verifyCertificateChain', () => {
  test('good chains: leaf → root, leaf → intermediate → root, leaf → trusted intermediate', async () => {
    assert.deepEqual(await verifyCertificateChain({ leafPem: leaf.certPem, trustedCaPems: [otherRoot.certPem, root.certPem] }),
      { ok: true, caPem: new (await import('node:crypto')).X509Certificate(root.certPem).toString() });
    const viaIntermediate = await verifyCertificateChain({ leafPem: leafViaIntermediate.certPem, intermediatePems: [intermediate.certPem], trustedCaPems: [root.certPem] });
    assert.equal(viaIntermediate.ok, true);
    const anchoredAtIntermediate = await verifyCertificateChain({ leafPem: leafViaIntermediate.certPem, trustedCaPems: [intermediate.certPem] });
    assert.equal(anchoredAtIntermediate.ok && certificateCommonName(anchoredAtIntermediate.caPem), 'Test Intermediate');
    // openssl agrees on the chains we call good
    assert.match(openssl('verify', '-CAfile', file('root.pem', root.certPem), '-untrusted', file('int.pem', intermediate.certPem),
      file('l2.pem', leafViaIntermediate.certPem)), /OK/);
  });

  test('wrong CA (same subject, other key), missing intermediate, expired leaf, self-signed leaf, CA as leaf', async () => {
    const wrong = await verifyCertificateChain({ leafPem: leaf.certPem, trustedCaPems: [otherRoot.certPem] });
    assert.equal(wrong.ok, false);
    assert.match(!wrong.ok ? wrong.reason : '', /no verified CA certificate/);

    const noIntermediate = await verifyCertificateChain({ leafPem: leafViaIntermediate.certPem, trustedCaPems: [root.certPem] });
    assert.equal(noIntermediate.ok, false);

    const later = new Date(Date.now() + 400 * 86_400_000); // leaf: 365 days, root: 10 years
    const expired = await verifyCertificateChain({ leafPem: leaf.certPem, trustedCaPems: [root.certPem], now: later });
    assert.match(!expired.ok ? expired.reason : '', /device certificate 'CN=dev-x509' expired/);

    const expiredIntermediate = await verifyCertificateChain({ leafPem: leafViaIntermediate.certPem, intermediatePems: [intermediate.certPem],
      trustedCaPems: [root.certPem], now: new Date(Date.now() + 1100 * 86_400_000) });
    assert.equal(expiredIntermediate.ok, false);

    const self = await createSelfSignedCertificate({ commonName: 'dev-self' });
    const selfSigned = await verifyCertificateChain({ leafPem: self.certPem, trustedCaPems: [root.certPem] });
    assert.match(!selfSigned.ok ? selfSigned.reason : '', /self-signed and not a verified CA/);

    const caAsLeaf = await verifyCertificateChain({ leafPem: root.certPem, trustedCaPems: [root.certPem] });
    assert.match(!caAsLeaf.ok ? caAsLeaf.reason : '', /is a CA certificate itself/);
  });

  test('a non-CA certificate cannot act as an issuer', async () => {
    // A client certificate's key signs another certificate: signature fine, but the issuer is not a CA.
    const sneaky = await issueCertificate({ issuer: leaf, commonName: 'dev-sneaky', usage: 'client' });
    const result = await verifyCertificateChain({ leafPem: sneaky.certPem, intermediatePems: [leaf.certPem], trustedCaPems: [root.certPem] });
    // OpenSSL's issuer check already refuses an issuer whose keyUsage lacks keyCertSign, so no chain is found.
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : '', /CN=dev-sneaky/);
  });
});
