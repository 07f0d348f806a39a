import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import { X509Certificate as PeculiarX509 } from '../tls/x509-lib.ts';
import { TributaryError } from '../errors/index.ts';

/**
 * X.509 device authentication helpers (iothub-wire.md §1.4, DESIGN §7): thumbprints for `selfSigned` devices, the
 * subject CN for `certificateAuthority` devices (CN = device id), and chain validation up to a verified CA.
 * node:crypto's X509Certificate does the signature and issuer checks; @peculiar/x509 reads the subject attributes
 * (node only gives the subject as escaped text).
 */

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function invalid(message: string, cause?: unknown): TributaryError {
  return new TributaryError('ArgumentInvalid', message, cause === undefined ? {} : { cause });
}

/** Every certificate in a PEM bundle, in order. */
export function splitPemBundle(pem: string): string[] {
  return pem.match(PEM_BLOCK) ?? [];
}

/**
 * One certificate as PEM, from PEM text or from bare base64 DER (IoT Hub's certificate upload accepts both the
 * `.pem` content and the base64 of a `.cer`).
 */
export function normalizeCertificatePem(input: string): string {
  const blocks = splitPemBundle(input);
  if (blocks.length > 1) throw invalid('Expected one certificate, got a bundle of ' + blocks.length + '; upload them one by one');
  let der: Buffer;
  if (blocks.length === 1) {
    der = Buffer.from((blocks[0] ?? '').replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''), 'base64');
  } else {
    const text = input.replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw invalid('The certificate is neither PEM nor base64 DER');
    der = Buffer.from(text, 'base64');
  }
  try {
    return new NodeX509(der).toString();
  } catch (err) {
    throw invalid(`The certificate cannot be parsed as X.509: ${(err as Error).message}`, err);
  }
}

function parse(pem: string): NodeX509 {
  try {
    return new NodeX509(pem);
  } catch (err) {
    throw invalid(`Not a PEM X.509 certificate: ${(err as Error).message}`, err);
  }
}

/** IoT Hub's thumbprint format: upper-case hex of the DER digest, no colons (sha1 by default, as the portal shows). */
export function certificateThumbprint(pem: string, algorithm: 'sha1' | 'sha256' = 'sha1'): string {
  return createHash(algorithm).update(parse(pem).raw).digest('hex').toUpperCase();
}

/** The subject's (last) common name; '' when the subject has none. */
export function certificateCommonName(pem: string): string {
  let cert: PeculiarX509;
  try {
    cert = new PeculiarX509(pem);
  } catch (err) {
    throw invalid(`Not a PEM X.509 certificate: ${(err as Error).message}`, err);
  }
  return cert.subjectName.getField('CN').at(-1) ?? '';
}

/** The subject as IoT Hub shows it on CA certificates: `CN=…, O=…` (RFC 4514-style text). */
export function certificateSubject(pem: string): string {
  try {
    return new PeculiarX509(pem).subject;
  } catch (err) {
    throw invalid(`Not a PEM X.509 certificate: ${(err as Error).message}`, err);
  }
}

export function certificateExpiry(pem: string): Date {
  return new Date(parse(pem).validTo);
}

/** Whether the certificate says it may issue certificates (basicConstraints cA). */
export function isCaCertificate(pem: string): boolean {
  return parse(pem).ca;
}

/** Whether `cert` names `issuer` as its issuer and carries a signature made by `issuer`'s key. */
export function isIssuedBy(cert: NodeX509, issuer: NodeX509): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function validAt(cert: NodeX509, now: Date): string | undefined {
  if (now < new Date(cert.validFrom)) return `is not valid before ${cert.validFrom}`;
  if (now > new Date(cert.validTo)) return `expired on ${cert.validTo}`;
  return undefined;
}

function describe(cert: NodeX509): string {
  return `'${cert.subject.replace(/\n/g, ', ')}'`;
}

const MAX_DEPTH = 8;

/**
 * Builds and checks the chain leaf → intermediates → one of `trustedCaPems` (a verified CA, which may itself be an
 * intermediate: IoT Hub trusts whatever CA was verified, not only roots). Each link must be issued and signed by the
 * next, every certificate must be within its validity period, every issuer must be a CA, and the leaf must not be a
 * trusted CA itself. Returns the trusted CA that anchored the chain.
 */
export async function verifyCertificateChain(o: {
  leafPem: string;
  intermediatePems?: string[];
  trustedCaPems: string[];
  now?: Date;
}): Promise<{ ok: true; caPem: string } | { ok: false; reason: string }> {
  const now = o.now ?? new Date();
  let leaf: NodeX509;
  try {
    leaf = new NodeX509(o.leafPem);
  } catch (err) {
    return { ok: false, reason: `the device certificate cannot be parsed: ${(err as Error).message}` };
  }
  // Unparsable entries are skipped: one bad stored CA must not lock out devices of the others.
  const load = (pems: readonly string[]): NodeX509[] => pems.flatMap((p) => splitPemBundle(p))
    .flatMap((p) => { try { return [new NodeX509(p)]; } catch { return []; } });
  const trusted = load(o.trustedCaPems);
  const intermediates = load(o.intermediatePems ?? []);

  if (trusted.some((ca) => ca.raw.equals(leaf.raw))) {
    return { ok: false, reason: `the device certificate ${describe(leaf)} is a CA certificate itself; present a certificate the CA issued` };
  }
  const leafProblem = validAt(leaf, now);
  if (leafProblem) return { ok: false, reason: `the device certificate ${describe(leaf)} ${leafProblem}` };

  let current = leaf;
  const seen = new Set<string>([leaf.fingerprint256]);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const anchor = trusted.find((ca) => isIssuedBy(current, ca));
    if (anchor) {
      const problem = validAt(anchor, now) ?? (anchor.ca ? undefined : 'is not a CA certificate (basicConstraints cA is false)');
      if (problem) return { ok: false, reason: `the trusted CA ${describe(anchor)} ${problem}` };
      return { ok: true, caPem: anchor.toString() };
    }
    const next = intermediates.find((c) => !seen.has(c.fingerprint256) && isIssuedBy(current, c));
    if (!next) {
      // Not checkIssued: OpenSSL's issuer check also wants keyCertSign, which a self-signed device cert lacks.
      if (current.issuer === current.subject && current.verify(current.publicKey)) {
        return { ok: false, reason: `${describe(current)} is self-signed and not a verified CA certificate` };
      }
      return { ok: false, reason: `no verified CA certificate (or presented intermediate) issued ${describe(current)}; upload and verify its CA` };
    }
    const problem = validAt(next, now) ?? (next.ca ? undefined : 'is not a CA certificate (basicConstraints cA is false)');
    if (problem) return { ok: false, reason: `the intermediate certificate ${describe(next)} ${problem}` };
    seen.add(next.fingerprint256);
    current = next;
  }
  return { ok: false, reason: `the certificate chain is longer than ${MAX_DEPTH}` };
}
