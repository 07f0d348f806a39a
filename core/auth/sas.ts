import { createHmac, timingSafeEqual } from 'node:crypto';
import { TributaryError } from '../errors/index.ts';

/**
 * IoT Hub shared access signatures (iothub-wire.md §1.3):
 *   `SharedAccessSignature sr=<resource>&sig=<strict-url-encoded base64 HMAC>[&skn=<key name>]&se=<expiry>`
 * The HMAC-SHA256 (key = base64-decoded shared key) covers `sr` *exactly as it appears in the token*, then `\n`, then
 * `se` (wire §0.9): device tokens carry a URL-encoded `sr`, service tokens the raw host name, DPS tokens raw slashes.
 * So the server never re-encodes or lower-cases `sr` before checking the signature; it only decodes it to authorise.
 */

const PREFIX = /^SharedAccessSignature\s+/i;

/**
 * `encodeURIComponent` plus `! ' ( ) *` as `%` + lower-case hex, exactly as azure-iot-common's
 * encodeUriComponentStrict (wire §1.3) — the lower case matters because the signature covers the encoded text.
 */
export function strictUriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16));
}

export interface CreateSasTokenOptions {
  /** The resource the token grants, unencoded: `host/devices/id[/modules/m]` for devices, the host for policies. */
  resourceUri: string;
  /** Base64 shared key (device key or policy key). */
  key: string;
  /** Policy name (`skn`); omitted for device keys. */
  keyName?: string;
  /** Expiry in epoch seconds (`se`). */
  expiresAt: number;
  /**
   * Whether `sr` is the strict-URL-encoded resource (default, what the device SDK and IoT Hub's own tools emit) or
   * the resource as given (what the DPS device SDK emits: `{idScope}/registrations/{id}` with literal slashes).
   * For a plain host name (service tokens) both give the same text.
   */
  encodeResourceUri?: boolean;
}

/**
 * Builds a token byte-identical to `SharedAccessSignature.create(strictUriEncode(resourceUri), keyName, key, se)`
 * from azure-iot-common, i.e. what azure-iot-device and azure-iothub put on the wire.
 */
export function createSasToken(o: CreateSasTokenOptions): string {
  if (!o.resourceUri) throw new TributaryError('ArgumentNull', 'createSasToken needs a resourceUri');
  if (!o.key) throw new TributaryError('ArgumentNull', 'createSasToken needs a key');
  if (!Number.isSafeInteger(o.expiresAt) || o.expiresAt <= 0) {
    throw new TributaryError('ArgumentInvalid', `createSasToken: expiresAt must be a positive integer of epoch seconds, got ${o.expiresAt}`);
  }
  const sr = o.encodeResourceUri === false ? o.resourceUri : strictUriEncode(o.resourceUri);
  const sig = strictUriEncode(sign(o.key, sr, String(o.expiresAt)));
  const skn = o.keyName ? `&skn=${strictUriEncode(o.keyName)}` : '';
  return `SharedAccessSignature sr=${sr}&sig=${sig}${skn}&se=${o.expiresAt}`;
}

export interface ParsedSasToken {
  /** The token as received. */
  raw: string;
  /** `sr` exactly as it appears in the token: the signed text. */
  sr: string;
  /** `sr` URL-decoded: what the token grants access to. */
  resource: string;
  /** `sig` URL-decoded: the base64 HMAC. */
  signature: string;
  expiresAt: number;
  /** `skn` URL-decoded, when present. */
  keyName?: string;
}

function malformed(why: string): TributaryError {
  return new TributaryError('IotHubUnauthorizedAccess', `Malformed SAS token: ${why}. Expected 'SharedAccessSignature sr=…&sig=…&se=…[&skn=…]'.`);
}

function decode(value: string, field: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw malformed(`${field} is not valid URL encoding`);
  }
}

/** Parses a token, with or without the `SharedAccessSignature ` scheme, fields in any order (wire §1.3, server side). */
export function parseSasToken(value: string): ParsedSasToken {
  if (typeof value !== 'string' || value.length === 0) throw malformed('the token is empty');
  const body = value.replace(PREFIX, '');
  if (/\s/.test(body)) throw malformed('it contains white space');
  const fields = new Map<string, string>();
  for (const part of body.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw malformed(`'${part.slice(0, 20)}' is not a name=value field`);
    const name = part.slice(0, eq);
    // A repeated field would make "which one was signed" ambiguous; refuse rather than pick one.
    if (fields.has(name)) throw malformed(`field ${name} appears twice`);
    fields.set(name, part.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  if (!sr) throw malformed('sr is missing');
  if (!sig) throw malformed('sig is missing');
  if (!se) throw malformed('se is missing');
  // No leading zeros: the signed text is `se` as written, and we re-create it from the number.
  if (!/^[1-9][0-9]*$/.test(se) || !Number.isSafeInteger(Number(se))) throw malformed(`se '${se}' is not epoch seconds`);
  const skn = fields.get('skn');
  const parsed: ParsedSasToken = {
    raw: value,
    sr,
    resource: decode(sr, 'sr'),
    signature: decode(sig, 'sig'),
    expiresAt: Number(se),
  };
  if (skn !== undefined && skn !== '') parsed.keyName = decode(skn, 'skn');
  return parsed;
}

function sign(base64Key: string, sr: string, se: string): string {
  return createHmac('sha256', Buffer.from(base64Key, 'base64')).update(`${sr}\n${se}`).digest('base64');
}

/**
 * Checks expiry, then the signature against each key (a device's or policy's primary and secondary). The comparison
 * is over the base64 text, constant-time, so a token differing only in how its signature is spelled is refused too.
 */
export function verifySasToken(t: ParsedSasToken, keys: readonly string[], nowSeconds: number = Date.now() / 1000): void {
  if (t.expiresAt < nowSeconds) {
    throw new TributaryError('IotHubUnauthorizedAccess',
      `SAS token for ${t.resource} expired at ${new Date(t.expiresAt * 1000).toISOString()}; sign a new token`,
      { details: { expiresAt: t.expiresAt } });
  }
  const given = Buffer.from(t.signature, 'utf8');
  let matched = false;
  for (const key of keys) {
    if (!key) continue;
    const expected = Buffer.from(sign(key, t.sr, String(t.expiresAt)), 'utf8');
    // Not short-circuiting on a match keeps the time spent independent of which key matched.
    if (expected.length === given.length && timingSafeEqual(expected, given)) matched = true;
  }
  if (!matched) {
    throw new TributaryError('IotHubUnauthorizedAccess',
      `SAS token signature for ${t.resource} does not match any current key${t.keyName ? ` of policy ${t.keyName}` : ''}; ` +
      'sign it with the primary or secondary key (keys may have been regenerated)');
  }
}

function segments(resource: string): string[] {
  // A trailing slash names the same resource (`host/` = `host`); anything else is compared as written.
  const trimmed = resource.toLowerCase().replace(/\/+$/, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/**
 * Whether a token granted for `tokenResource` (URL-decoded `sr`) authorises `requested`: case-insensitive, whole path
 * segments only (`host/devices/d1` covers `host/devices/d1/modules/m` but not `host/devices/d10`). No `.`/`..`
 * normalisation: both sides are compared literally.
 */
export function resourceCovers(tokenResource: string, requested: string): boolean {
  const granted = segments(tokenResource);
  const wanted = segments(requested);
  if (granted.length === 0 || granted.length > wanted.length) return false;
  return granted.every((s, i) => s === wanted[i]);
}

/** The resource a device or module token must cover: `{host}/devices/{deviceId}[/modules/{moduleId}]` (unencoded). */
export function deviceResourceUri(hostName: string, deviceId: string, moduleId?: string): string {
  return `${hostName}/devices/${deviceId}${moduleId ? `/modules/${moduleId}` : ''}`;
}
