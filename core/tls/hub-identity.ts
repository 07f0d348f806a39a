import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { TributaryError } from '../errors/index.ts';
import { componentLogger } from '../logging/logger.ts';
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from './certificates.ts';

/**
 * The hub's TLS identity (DESIGN §8, iothub-wire.md §0.3): devices and the SDKs always check the server certificate,
 * so a zero-config start generates a CA once and a server certificate for the configured host names; operators hand
 * devices `ca.pem` (setOptions({ ca }) or NODE_EXTRA_CA_CERTS). The CA is never replaced while it is valid, because
 * every device trusting it would have to be reconfigured; the server certificate is re-issued from it whenever it no
 * longer fits (host names changed, close to expiry, key mismatch).
 */

const log = componentLogger('tls-identity');

export interface TlsIdentity {
  /** The trust anchor devices and service clients must trust. */
  caPem: string;
  /** Where that CA lives on disk, to print for operators (NODE_EXTRA_CA_CERTS=<caPath>). */
  caPath: string;
  /** The server certificate (followed by any intermediates when operator-provided). */
  certPem: string;
  keyPem: string;
}

export interface EnsureHubTlsIdentityOptions {
  dataDir: string;
  /** Every name devices and services connect to: DNS names and IP literals (a `:port` suffix is ignored). */
  hostNames: string[];
  /** Operator-provided server certificate (PEM, leaf first); used as it is, with keyFile. */
  certFile?: string;
  keyFile?: string;
  /** Operator-provided CA to publish to devices; defaults to the last certificate of certFile. */
  caFile?: string;
}

/** Server certificates are valid 397 days (what Apple platforms and browsers still accept for TLS servers). */
const SERVER_VALIDITY_DAYS = 397;
const CA_VALIDITY_DAYS = 3650;
/** Re-issue the server certificate when less than this is left, so a restart within the month renews it. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

function configInvalid(message: string, cause?: unknown): TributaryError {
  return new TributaryError('ConfigInvalid', message, cause === undefined ? {} : { cause });
}

/** `host:port`, `[::1]:443`, `[::1]` → the bare host, since certificates name hosts, not ports. */
export function bareHost(name: string): string {
  const trimmed = name.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(trimmed);
  if (bracketed) return bracketed[1] ?? trimmed;
  if (isIP(trimmed)) return trimmed;
  return trimmed.replace(/:\d+$/, '').toLowerCase();
}

/** Whether the certificate's SANs name every host (exact DNS match, or a `*.` wildcard for one label; IPs exactly). */
export function certificateCoversHosts(cert: X509Certificate, hostNames: readonly string[]): boolean {
  return hostNames.every((h) => {
    const host = bareHost(h);
    return isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host, { subject: 'never' }) !== undefined;
  });
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw configInvalid(`Cannot read ${path}: ${(err as Error).message}`, err);
  }
}

/** Write-then-rename so a crash never leaves half a PEM behind; keys are created 0600 from the start. */
async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

function parseCert(pem: string | undefined): X509Certificate | undefined {
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string | undefined): boolean {
  if (keyPem === undefined) return false;
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

const expiresSoon = (cert: X509Certificate, now: number): boolean => new Date(cert.validTo).getTime() - now < RENEW_BEFORE_MS;

export async function ensureHubTlsIdentity(o: EnsureHubTlsIdentityOptions): Promise<TlsIdentity> {
  if (o.certFile !== undefined || o.keyFile !== undefined) return operatorIdentity(o);
  if (o.hostNames.length === 0) throw configInvalid('ensureHubTlsIdentity needs at least one host name for the server certificate');
  const hosts = [...new Set(o.hostNames.map(bareHost))];
  const dir = join(o.dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  const now = Date.now();

  let ca: CertificateAndKey | undefined;
  const caPem = await readOptional(paths.ca);
  const caKeyPem = await readOptional(paths.caKey);
  const caCert = parseCert(caPem);
  if (caPem !== undefined && caKeyPem !== undefined && caCert !== undefined && keyMatches(caCert, caKeyPem) && new Date(caCert.validTo).getTime() > now) {
    ca = { certPem: caPem, keyPem: caKeyPem };
    if (expiresSoon(caCert, now)) log.warn({ caPath: paths.ca, validTo: caCert.validTo }, 'the hub CA expires soon; plan to distribute a new CA to devices');
  } else {
    if (caPem !== undefined) {
      log.warn({ caPath: paths.ca }, 'the hub CA in the data directory is expired, unreadable or has no matching key; generating a new CA — devices must be given the new ca.pem');
    }
    ca = await createCertificateAuthority({ commonName: `Tributary hub CA ${hosts[0]}`, validityDays: CA_VALIDITY_DAYS });
    await writeAtomic(paths.caKey, ca.keyPem, 0o600);
    await writeAtomic(paths.ca, ca.certPem, 0o644);
    log.info({ caPath: paths.ca }, 'generated the hub CA');
  }

  const serverPem = await readOptional(paths.cert);
  const serverKeyPem = await readOptional(paths.key);
  const server = parseCert(serverPem);
  const issuer = new X509Certificate(ca.certPem);
  const reason = server === undefined || serverKeyPem === undefined ? 'missing'
    : !keyMatches(server, serverKeyPem) ? 'key does not match'
      : !(server.checkIssued(issuer) && server.verify(issuer.publicKey)) ? 'not issued by the current CA'
        : expiresSoon(server, now) ? `expires ${server.validTo}`
          : !certificateCoversHosts(server, hosts) ? `does not cover ${hosts.join(', ')}`
            : undefined;
  if (reason === undefined && serverPem !== undefined && serverKeyPem !== undefined) {
    return { caPem: ca.certPem, caPath: paths.ca, certPem: serverPem, keyPem: serverKeyPem };
  }
  const issued = await issueCertificate({
    issuer: ca,
    commonName: hosts[0] ?? 'localhost',
    dnsNames: hosts.filter((h) => !isIP(h)),
    ipAddresses: hosts.filter((h) => isIP(h)),
    usage: 'server',
    validityDays: SERVER_VALIDITY_DAYS,
  });
  await writeAtomic(paths.key, issued.keyPem, 0o600);
  await writeAtomic(paths.cert, issued.certPem, 0o644);
  if (reason === 'missing') log.info({ hosts, certPath: paths.cert }, 'issued the hub server certificate');
  else log.info({ hosts, certPath: paths.cert, reason }, 're-issued the hub server certificate');
  return { caPem: ca.certPem, caPath: paths.ca, certPem: issued.certPem, keyPem: issued.keyPem };
}

/** Operator-provided files are used as they are; we only refuse what cannot work (no key, key of another cert, expired). */
async function operatorIdentity(o: EnsureHubTlsIdentityOptions): Promise<TlsIdentity> {
  if (o.certFile === undefined || o.keyFile === undefined) {
    throw configInvalid('A TLS certificate file and key file must be given together (certFile and keyFile)');
  }
  const certPem = await readOptional(o.certFile);
  const keyPem = await readOptional(o.keyFile);
  if (certPem === undefined) throw configInvalid(`TLS certificate file ${o.certFile} does not exist`);
  if (keyPem === undefined) throw configInvalid(`TLS key file ${o.keyFile} does not exist`);
  const chain = certPem.match(PEM_CERT) ?? [];
  const leaf = parseCert(chain[0]);
  if (leaf === undefined) throw configInvalid(`${o.certFile} holds no PEM certificate`);
  let matches: boolean;
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw configInvalid(`${o.keyFile} is not an unencrypted PEM private key: ${(err as Error).message}`, err);
  }
  if (!matches) throw configInvalid(`${o.keyFile} is not the private key of the certificate in ${o.certFile}`);
  if (new Date(leaf.validTo).getTime() < Date.now()) throw configInvalid(`The certificate in ${o.certFile} expired on ${leaf.validTo}; renew it`);
  if (!certificateCoversHosts(leaf, o.hostNames)) {
    log.warn({ certFile: o.certFile, hostNames: o.hostNames }, 'the TLS certificate does not name every configured host; clients connecting by those names will refuse it');
  }
  let caPath = o.certFile;
  let caPem = (chain.at(-1) ?? '').trim() + '\n';
  if (o.caFile !== undefined) {
    const pem = await readOptional(o.caFile);
    if (pem === undefined || parseCert(pem) === undefined) throw configInvalid(`TLS CA file ${o.caFile} does not exist or holds no PEM certificate`);
    caPath = o.caFile;
    caPem = pem;
  }
  return { caPem, caPath, certPem, keyPem };
}
