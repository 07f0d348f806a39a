/**
 * Identifier rules and the small generated values of the registry: ids, generation ids, etags, keys.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { TributaryError } from '../errors/index.ts';

/**
 * IoT Hub's identity registry rule for device and module ids ("Device identity properties"): case-sensitive, up to
 * 128 characters of ASCII letters, digits and `- . + % _ # * ? ! ( ) , : = @ $ '`.
 */
const ID_PATTERN = /^[A-Za-z0-9\-.+%_#*?!(),:=@$']{1,128}$/;
export const ID_RULE = "1-128 ASCII letters, digits or - . + % _ # * ? ! ( ) , : = @ $ '";

export function validateDeviceId(deviceId: unknown): string {
  return validateId(deviceId, 'device');
}

/** Module ids follow the device id rule. Ids starting with `$` are IoT Edge's ($edgeAgent, $edgeHub): see isReservedModuleId. */
export function validateModuleId(moduleId: unknown): string {
  return validateId(moduleId, 'module');
}

function validateId(id: unknown, what: 'device' | 'module'): string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 140 ? `${id.slice(0, 140)}…` : id) : String(id);
    const why = typeof id !== 'string' ? 'is not a string' : id.length > 128 ? `is ${id.length} characters long` : id === '' ? 'is empty' : 'contains a character that is not allowed';
    throw new TributaryError('ArgumentInvalid', `${what} id ${shown} ${why}; a ${what} id must be ${ID_RULE}`, {
      details: { [`${what}Id`]: typeof id === 'string' ? id.slice(0, 140) : null, rule: ID_RULE },
    });
  }
  return id;
}

/** IoT Edge's system modules; IoT Hub creates them with an edge device and refuses `$`-prefixed ids from users. */
export const EDGE_SYSTEM_MODULES = ['$edgeAgent', '$edgeHub'] as const;

export function isReservedModuleId(moduleId: string): boolean {
  return moduleId.startsWith('$');
}

export function assertUserModuleId(moduleId: string): void {
  if (isReservedModuleId(moduleId)) {
    throw new TributaryError('ArgumentInvalid', `module id "${moduleId}" starts with '$', which is reserved for IoT Edge system modules ($edgeAgent, $edgeHub); choose an id without the leading '$'`, {
      details: { moduleId },
    });
  }
}

/** A random 18-digit decimal string, the shape IoT Hub's generationId has (e.g. "638000000000000000"). */
export function newGenerationId(): string {
  let digits = String(randomInt(1, 10));
  while (digits.length < 18) digits += String(randomInt(0, 1_000_000)).padStart(6, '0');
  return digits.slice(0, 18);
}

/** Identity etags: base64 of the decimal version, as IoT Hub's look ("MA==" is version 0). */
export function etagOf(version: number): string {
  return Buffer.from(String(version), 'utf8').toString('base64');
}

/** Twin etags look like IoT Hub's: base64 of the 8-byte big-endian version ("AAAAAAAAAAE=" for 1). */
export function twinEtagOf(version: number): string {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(BigInt(version));
  return buf.toString('base64');
}

/**
 * Normalises an If-Match value: surrounding double quotes and a weak `W/` prefix are dropped (the SDK quotes etags,
 * curl users often do not). Returns '*' for "any".
 */
export function normalizeIfMatch(ifMatch: string): string {
  let value = ifMatch.trim();
  if (value.startsWith('W/')) value = value.slice(2);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return value;
}

/** Throws PreconditionFailed unless `ifMatch` is absent, `*`, or the current etag. */
export function checkEtag(ifMatch: string | undefined, current: string, what: string): void {
  if (ifMatch === undefined) return;
  const wanted = normalizeIfMatch(ifMatch);
  if (wanted === '*' || wanted === current) return;
  throw new TributaryError('PreconditionFailed', `${what} has etag "${current}", not "${wanted}"; read it again and retry with the current etag (or If-Match: *)`, {
    details: { etag: current, ifMatch: wanted },
  });
}

/** A fresh symmetric key: base64 of 32 random bytes, as IoT Hub generates device and policy keys. */
export function newSymmetricKey(): string {
  return randomBytes(32).toString('base64');
}
