import { isIP } from 'node:net';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from './x509-lib.ts';
import { TributaryError } from '../errors/index.ts';

/**
 * Certificate generation with @peculiar/x509 on node's WebCrypto. Keys are ECDSA P-256 signed with SHA-256: accepted
 * by node's TLS (so mqtt.js, the Azure IoT SDKs and the service SDK, which all sit on node `tls`/`https`), OpenSSL
 * and browsers, and far cheaper to generate than RSA. Private keys leave here as unencrypted PKCS#8 PEM, which node's
 * `tls.createSecureContext({ key })` reads directly.
 */

// The DOM WebCrypto types are not in this project's lib (ES2023 + node); node's own declarations stand in for them.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;

const crypto = webcrypto;
// @peculiar/x509 takes a DOM `Crypto`; node's webcrypto is that API.
const provider = webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0];
x509.cryptoProvider.set(provider);

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;

export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export type CertificateUsage = 'server' | 'client' | 'ca';

async function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

interface SigningKey {
  key: CryptoKey;
  algorithm: Algorithm | EcdsaParams;
}

/**
 * Imports an issuer's private key (unencrypted PEM, PKCS#8 or the traditional PKCS#1/SEC1 forms openssl writes) for
 * signing. Our own CAs are ECDSA P-256, but an operator's or a test's CA may be RSA or another NIST curve.
 */
async function importSigningKey(pem: string): Promise<SigningKey> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(pem);
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `The issuer key cannot be read (unencrypted PEM expected): ${(err as Error).message}`, { cause: err });
  }
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const type = keyObject.asymmetricKeyType;
  if (type === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    const named = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (named === undefined) throw new TributaryError('ArgumentInvalid', `The issuer key's curve ${curve} is not supported; use P-256, P-384 or P-521`);
    const hash = named === 'P-256' ? 'SHA-256' : named === 'P-384' ? 'SHA-384' : 'SHA-512';
    const key = await crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: named }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash } };
  }
  if (type === 'rsa') {
    const key = await crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { key, algorithm: { name: 'RSASSA-PKCS1-v1_5' } };
  }
  throw new TributaryError('ArgumentInvalid', `The issuer key type ${type} is not supported; use an EC or RSA key`);
}

/**
 * The subject `CN=<commonName>`, built from an explicit UTF8String: @peculiar/x509 would otherwise interpret quotes,
 * backslashes and a leading `#` in plain JSON string values as DN-string syntax and change the name.
 */
function nameOf(commonName: string): x509.Name {
  if (commonName === '') throw new TributaryError('ArgumentInvalid', 'A certificate needs a non-empty common name');
  return new x509.Name([{ CN: [{ utf8String: commonName }] }]);
}

function validity(validityDays: number): { notBefore: Date; notAfter: Date } {
  if (!(validityDays > 0)) throw new TributaryError('ArgumentInvalid', `validityDays must be positive, got ${validityDays}`);
  // Back-dated a little so a peer whose clock is slightly behind does not see a "not yet valid" certificate.
  const notBefore = new Date(Date.now() - 5 * 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + validityDays * DAY_MS) };
}

function serialNumber(): string {
  // 16 random bytes, top bit cleared so the DER INTEGER stays positive (RFC 5280 §4.1.2.2: at most 20 octets).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function usageExtensions(usage: CertificateUsage): x509.Extension[] {
  const F = x509.KeyUsageFlags;
  switch (usage) {
    case 'ca':
      return [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(F.keyCertSign | F.cRLSign | F.digitalSignature, true)];
    case 'server':
      return [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(F.digitalSignature | F.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false)];
    case 'client':
      return [new x509.BasicConstraintsExtension(false, undefined, true), new x509.KeyUsagesExtension(F.digitalSignature | F.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false)];
  }
}

/** A self-signed root CA (basicConstraints cA, keyCertSign). Default validity 10 years. */
export async function createCertificateAuthority(o: { commonName: string; validityDays?: number }): Promise<CertificateAndKey> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: nameOf(o.commonName),
    ...validity(o.validityDays ?? 3650),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [...usageExtensions('ca'), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider)],
  }, provider);
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/**
 * A self-signed end-entity certificate (a `selfSigned` X.509 device authenticates with one: IoT Hub matches its
 * thumbprint). Usable for TLS client auth. Default validity 1 year.
 */
export async function createSelfSignedCertificate(o: { commonName: string; validityDays?: number }): Promise<CertificateAndKey> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: nameOf(o.commonName),
    ...validity(o.validityDays ?? 365),
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [...usageExtensions('client'), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider)],
  }, provider);
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}

/** Splits host names into SAN entries: IP literals become iPAddress names, everything else dNSName. */
export function subjectAltNames(dnsNames: readonly string[] = [], ipAddresses: readonly string[] = []): x509.JsonGeneralNames {
  const names: x509.JsonGeneralNames = [];
  for (const n of dnsNames) names.push(isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n });
  for (const ip of ipAddresses) {
    if (!isIP(ip)) throw new TributaryError('ArgumentInvalid', `'${ip}' is not an IP address`);
    names.push({ type: 'ip', value: ip });
  }
  return names;
}

/**
 * A certificate issued (signed) by `issuer`: a TLS server certificate (SANs required: TLS clients match the host
 * against the SANs, not the CN), a device client certificate (CN = device id for `certificateAuthority` devices, or the
 * verification code for CA proof of possession), or an intermediate CA. Default validity 1 year.
 */
export async function issueCertificate(o: {
  issuer: CertificateAndKey;
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: CertificateUsage;
  validityDays?: number;
}): Promise<CertificateAndKey> {
  let issuerCert: x509.X509Certificate;
  try {
    issuerCert = new x509.X509Certificate(o.issuer.certPem);
  } catch (err) {
    throw new TributaryError('ArgumentInvalid', `The issuer certificate is not PEM: ${(err as Error).message}`, { cause: err });
  }
  const signer = await importSigningKey(o.issuer.keyPem);
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    ...usageExtensions(o.usage),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, provider),
    await x509.AuthorityKeyIdentifierExtension.create(issuerCert, false, provider),
  ];
  const sans = subjectAltNames(o.dnsNames, o.ipAddresses);
  if (o.usage === 'server' && sans.length === 0) {
    throw new TributaryError('ArgumentInvalid', 'A server certificate needs at least one DNS name or IP address');
  }
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: nameOf(o.commonName),
    issuer: issuerCert.subjectName,
    ...validity(o.validityDays ?? 365),
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions,
  }, provider);
  return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey) };
}
