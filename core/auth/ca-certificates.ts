import { randomBytes, X509Certificate } from 'node:crypto';
import { TributaryError } from '../errors/index.ts';
import { componentLogger } from '../logging/logger.ts';
import type { Queryable, Row } from '../store/types.ts';
import {
  certificateCommonName,
  certificateSubject,
  certificateThumbprint,
  isIssuedBy,
  normalizeCertificatePem,
} from './x509.ts';

/**
 * IoT Hub's CA certificates and their proof-of-possession ("verified CA") flow, stored in `ca_certificates`
 * (migration 0003). Upload a CA → unverified; ask for a verification code; sign a certificate with CN = code using
 * the CA's key; upload it → verified. Only verified CAs anchor device certificate chains (verifiedCaPems).
 * Shapes follow IoT Hub's CertificateDescription (ARM `Microsoft.Devices/IotHubs/certificates`): dates RFC 1123.
 */

const log = componentLogger('ca-certificates');

export interface CertificateProperties {
  subject: string;
  /** RFC 1123, as IoT Hub's resource provider answers (`Sat, 01 Jan 2033 00:00:00 GMT`). */
  expiry: string;
  thumbprint: string;
  isVerified: boolean;
  created: string;
  updated: string;
  certificate: string;
}

export interface CertificateDescription {
  name: string;
  etag: string;
  type: 'Microsoft.Devices/IotHubs/Certificates';
  properties: CertificateProperties;
}

/** What generateVerificationCode answers: the description plus the code to put in the verification certificate's CN. */
export interface CertificateWithNonceDescription {
  name: string;
  etag: string;
  type: 'Microsoft.Devices/IotHubs/Certificates';
  properties: CertificateProperties & { verificationCode: string };
}

interface CertificateRow extends Row {
  name: string;
  certificate: string;
  subject: string;
  thumbprint: string;
  expiry: Date;
  is_verified: boolean;
  verification_code: string | null;
  etag: string;
  created_at: Date;
  updated_at: Date;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const COLUMNS = 'name, certificate, subject, thumbprint, expiry, is_verified, verification_code, etag, created_at, updated_at';

/** IoT Hub etags look like `AAAAAAFPazE=`: opaque base64. */
const newEtag = (): string => randomBytes(8).toString('base64');

/** Accepts `"etag"`, `W/"etag"` and `etag` alike, since If-Match headers arrive quoted. `*` matches anything. */
function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

// IoT Hub has no code for this in core/errors/codes.ts yet (reported: 'CertificateNotFound', 404); one place to change.
function notFound(name: string): TributaryError {
  return new TributaryError('CertificateNotFound', `No CA certificate named '${name}'; list the certificates to see which exist`, { details: { name } });
}

function preconditionFailed(name: string): TributaryError {
  return new TributaryError('PreconditionFailed', `The etag given for CA certificate '${name}' is not its current etag; read it again and retry with the new etag`);
}

function toDescription(row: CertificateRow): CertificateDescription {
  return {
    name: row.name,
    etag: row.etag,
    type: 'Microsoft.Devices/IotHubs/Certificates',
    properties: {
      subject: row.subject,
      expiry: row.expiry.toUTCString(),
      thumbprint: row.thumbprint,
      isVerified: row.is_verified,
      created: row.created_at.toUTCString(),
      updated: row.updated_at.toUTCString(),
      certificate: row.certificate,
    },
  };
}

export class CaCertificateStore {
  constructor(private readonly db: Queryable) {}

  /**
   * Uploads a CA certificate (PEM, or base64 DER as IoT Hub also accepts). A new name needs no etag; replacing an
   * existing one needs its etag (or `*`), like IoT Hub's createOrUpdate, and resets it to unverified unless
   * `isVerified` is given (IoT Hub lets owners skip proof of possession at upload time).
   */
  async add(name: string, pem: string, options: { ifMatch?: string; isVerified?: boolean } = {}): Promise<CertificateDescription> {
    if (!NAME.test(name)) {
      throw new TributaryError('ArgumentInvalid', `Certificate name '${name}' is invalid: use 1–64 letters, digits, '-', '.' or '_'`);
    }
    const certificate = normalizeCertificatePem(pem);
    const cert = new X509Certificate(certificate);
    if (!cert.ca) {
      throw new TributaryError('ArgumentInvalid', `Certificate '${name}' is not a CA certificate (basicConstraints cA is not set); upload the root or intermediate CA that issues device certificates`);
    }
    const expiry = new Date(cert.validTo);
    if (expiry.getTime() < Date.now()) throw new TributaryError('ArgumentInvalid', `Certificate '${name}' expired on ${cert.validTo}; upload a valid CA certificate`);
    const values = [name, certificate, certificateSubject(certificate), certificateThumbprint(certificate), certificateThumbprint(certificate, 'sha256'),
      expiry, options.isVerified === true, newEtag()];

    if (options.ifMatch === undefined) {
      const rows = await this.db.query<CertificateRow>(
        `INSERT INTO ca_certificates (name, certificate, subject, thumbprint, thumbprint_sha256, expiry, is_verified, etag)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`, values);
      const row = rows[0];
      if (row === undefined) {
        throw new TributaryError('PreconditionFailed', `A CA certificate named '${name}' already exists; pass its etag in If-Match to replace it`);
      }
      log.info({ name, thumbprint: row.thumbprint }, 'CA certificate uploaded');
      return toDescription(row);
    }
    const row = await this.compareAndSet(name, options.ifMatch,
      `certificate = $3, subject = $4, thumbprint = $5, thumbprint_sha256 = $6, expiry = $7, is_verified = $8, etag = $9,
       verification_code = NULL, updated_at = now()`, values.slice(1));
    log.info({ name, thumbprint: row.thumbprint }, 'CA certificate replaced');
    return toDescription(row);
  }

  async get(name: string): Promise<CertificateDescription> {
    return toDescription(await this.row(name));
  }

  async list(): Promise<CertificateDescription[]> {
    const rows = await this.db.query<CertificateRow>(`SELECT ${COLUMNS} FROM ca_certificates ORDER BY name`);
    return rows.map(toDescription);
  }

  async delete(name: string, ifMatch: string): Promise<void> {
    const rows = await this.db.query(
      `DELETE FROM ca_certificates WHERE name = $1 AND ($2 = '*' OR etag = $2) RETURNING name`, [name, normalizeEtag(ifMatch)]);
    if (rows.length === 0) {
      await this.row(name); // not found → that error; found → the etag was wrong
      throw preconditionFailed(name);
    }
    log.info({ name }, 'CA certificate deleted');
  }

  /** Issues a fresh random code (replacing any earlier one) for the proof-of-possession certificate's CN. */
  async generateVerificationCode(name: string, ifMatch: string): Promise<CertificateWithNonceDescription> {
    // 24 random bytes as upper-case hex: 48 characters, within the 64-character limit of a CN.
    const code = randomBytes(24).toString('hex').toUpperCase();
    const row = await this.compareAndSet(name, ifMatch, 'verification_code = $3, etag = $4, updated_at = now()', [code, newEtag()]);
    const description = toDescription(row);
    return { ...description, properties: { ...description.properties, verificationCode: code } };
  }

  /**
   * Completes proof of possession: `verificationCertPem` must have CN = the outstanding code, be within its validity
   * period, and be signed by this CA's key (so only the key's owner can produce it). Anything else is ArgumentInvalid.
   */
  async verify(name: string, ifMatch: string, verificationCertPem: string): Promise<CertificateDescription> {
    const current = await this.row(name);
    const etag = normalizeEtag(ifMatch);
    if (etag !== '*' && etag !== current.etag) throw preconditionFailed(name);
    if (current.verification_code === null) {
      throw new TributaryError('ArgumentInvalid', `CA certificate '${name}' has no outstanding verification code; generate one first`);
    }
    const proof = new X509Certificate(normalizeCertificatePem(verificationCertPem));
    const cn = certificateCommonName(proof.toString());
    if (cn !== current.verification_code) {
      throw new TributaryError('ArgumentInvalid', `The verification certificate's CN '${cn}' is not the verification code issued for '${name}'; sign a certificate with CN = the latest code`);
    }
    if (!isIssuedBy(proof, new X509Certificate(current.certificate))) {
      throw new TributaryError('ArgumentInvalid', `The verification certificate was not signed by the private key of CA certificate '${name}'; sign it with that CA's key`);
    }
    const now = new Date();
    if (now < new Date(proof.validFrom) || now > new Date(proof.validTo)) {
      throw new TributaryError('ArgumentInvalid', `The verification certificate is not valid now (${proof.validFrom} – ${proof.validTo})`);
    }
    // Compare-and-set on the etag read above, so a concurrent new code or replacement makes this verification fail.
    const row = await this.compareAndSet(name, current.etag,
      'is_verified = true, verification_code = NULL, etag = $3, updated_at = now()', [newEtag()]);
    log.info({ name, thumbprint: row.thumbprint }, 'CA certificate verified (proof of possession)');
    return toDescription(row);
  }

  /** The verified CA certificates: the trust anchors for certificateAuthority devices. */
  async verifiedCaPems(): Promise<string[]> {
    const rows = await this.db.query<{ certificate: string }>('SELECT certificate FROM ca_certificates WHERE is_verified ORDER BY name');
    return rows.map((r) => r.certificate);
  }

  private async row(name: string): Promise<CertificateRow> {
    const rows = await this.db.query<CertificateRow>(`SELECT ${COLUMNS} FROM ca_certificates WHERE name = $1`, [name]);
    const row = rows[0];
    if (row === undefined) throw notFound(name);
    return row;
  }

  /** UPDATE … WHERE etag matches; `set` uses $3 onwards. Missing → not found; etag differs → PreconditionFailed. */
  private async compareAndSet(name: string, ifMatch: string, set: string, params: readonly unknown[]): Promise<CertificateRow> {
    const rows = await this.db.query<CertificateRow>(
      `UPDATE ca_certificates SET ${set} WHERE name = $1 AND ($2 = '*' OR etag = $2) RETURNING ${COLUMNS}`,
      [name, normalizeEtag(ifMatch), ...params]);
    const row = rows[0];
    if (row !== undefined) return row;
    await this.row(name);
    throw preconditionFailed(name);
  }
}
