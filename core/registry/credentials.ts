/**
 * Turns the authentication section of a request into what is stored: keys validated or generated, thumbprints
 * validated and upper-cased, fields the type does not use cleared.
 */
import { TributaryError } from '../errors/index.ts';
import { newSymmetricKey } from './ids.ts';
import type { AuthInput } from './identity-input.ts';
import type { AuthType } from './types.ts';

export interface StoredAuth {
  authType: AuthType;
  primaryKey: string | null;
  secondaryKey: string | null;
  primaryThumbprint: string | null;
  secondaryThumbprint: string | null;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const THUMBPRINT = /^(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/;

function invalid(field: string, message: string): TributaryError {
  return new TributaryError('ArgumentInvalid', `${field} ${message}`, { details: { field } });
}

/** IoT Hub accepts symmetric keys of 16 to 64 bytes, base64-encoded. The key itself never goes into the message. */
function checkKey(key: string, field: string): string {
  if (!BASE64.test(key)) throw invalid(field, 'is not valid base64; send base64 of 16 to 64 random bytes, or an empty string to have the hub generate one');
  const bytes = Buffer.from(key, 'base64').length;
  if (bytes < 16 || bytes > 64) throw invalid(field, `decodes to ${bytes} bytes; a symmetric key must be 16 to 64 bytes`);
  return key;
}

/** SHA-1 (40 hex) or SHA-256 (64 hex) certificate thumbprints, stored upper-case so comparisons are exact. */
function checkThumbprint(value: string, field: string): string {
  if (!THUMBPRINT.test(value)) throw invalid(field, `must be 40 (SHA-1) or 64 (SHA-256) hex characters, got ${value.length} characters`);
  return value.toUpperCase();
}

const field = (name: string) => `authentication.symmetricKey.${name}`;
const tfield = (name: string) => `authentication.x509Thumbprint.${name}`;

/**
 * Decides the stored authentication. `existing` is the identity being updated (undefined on create).
 * - absent section: create → sas with generated keys; update → unchanged;
 * - sas with both keys empty: create → generated; update → the current keys when the identity already uses sas.
 *   The SDK sends empty keys whenever a caller updates an object without keys (`registry.update({deviceId, status})`),
 *   and regenerating keys there would silently lock the device out;
 * - sas with one key only: refused, since a generated second key next to a chosen first one is rarely what was meant;
 * - selfSigned: primary thumbprint required, secondary optional;
 * - certificateAuthority and none: no secrets (none = the identity cannot authenticate by itself).
 */
export function resolveAuthentication(input: AuthInput | undefined, existing: StoredAuth | undefined): StoredAuth {
  if (input === undefined) {
    if (existing !== undefined) return existing;
    return { authType: 'sas', primaryKey: newSymmetricKey(), secondaryKey: newSymmetricKey(), primaryThumbprint: null, secondaryThumbprint: null };
  }
  const none = { primaryKey: null, secondaryKey: null, primaryThumbprint: null, secondaryThumbprint: null };
  switch (input.type) {
    case 'sas': {
      const { primaryKey, secondaryKey } = input;
      if (primaryKey === undefined && secondaryKey === undefined) {
        if (existing?.authType === 'sas' && existing.primaryKey !== null && existing.secondaryKey !== null) {
          return { ...none, authType: 'sas', primaryKey: existing.primaryKey, secondaryKey: existing.secondaryKey };
        }
        return { ...none, authType: 'sas', primaryKey: newSymmetricKey(), secondaryKey: newSymmetricKey() };
      }
      if (primaryKey === undefined || secondaryKey === undefined) {
        throw invalid(field(primaryKey === undefined ? 'primaryKey' : 'secondaryKey'), 'is empty while the other key is set; send both keys, or neither to have the hub generate them');
      }
      return { ...none, authType: 'sas', primaryKey: checkKey(primaryKey, field('primaryKey')), secondaryKey: checkKey(secondaryKey, field('secondaryKey')) };
    }
    case 'selfSigned': {
      if (input.primaryThumbprint === undefined) {
        throw invalid(tfield('primaryThumbprint'), 'is required for selfSigned authentication; send the SHA-1 or SHA-256 thumbprint of the device certificate');
      }
      return {
        ...none,
        authType: 'selfSigned',
        primaryThumbprint: checkThumbprint(input.primaryThumbprint, tfield('primaryThumbprint')),
        secondaryThumbprint: input.secondaryThumbprint === undefined ? null : checkThumbprint(input.secondaryThumbprint, tfield('secondaryThumbprint')),
      };
    }
    case 'certificateAuthority':
    case 'none':
      return { ...none, authType: input.type };
  }
}

export function credentialsDiffer(a: StoredAuth, b: StoredAuth): boolean {
  return a.authType !== b.authType || a.primaryKey !== b.primaryKey || a.secondaryKey !== b.secondaryKey
    || a.primaryThumbprint !== b.primaryThumbprint || a.secondaryThumbprint !== b.secondaryThumbprint;
}
