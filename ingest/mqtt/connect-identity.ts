/**
 * Who a CONNECT claims to be (iothub-wire.md §2.1):
 *   clientId  `{deviceId}` or `{deviceId}/{moduleId}` (raw)
 *   username  `{HostName}/{deviceId}/?api-version=…[&model-id=…]&DeviceClientType=…`
 *             `{HostName}/{deviceId}/{moduleId}/?api-version=…`
 * The username's ids must equal the clientId's; the password (SAS) or the TLS client certificate proves it.
 */

export interface ConnectIdentity {
  hostName: string;
  deviceId: string;
  moduleId?: string;
  apiVersion?: string;
  /** `model-id` (IoT Plug and Play), sent unencoded by the SDK. */
  modelId?: string;
  /** `DeviceClientType`, URL-decoded: the SDK's user agent plus product info. */
  clientType?: string;
}

export type ConnectIdentityResult =
  | { ok: true; identity: ConnectIdentity }
  | { ok: false; reason: string };

function parseQuery(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const raw = eq < 0 ? '' : pair.slice(eq + 1);
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      // model-id is sent unencoded and may contain '%'-free text only; keep anything undecodable as sent.
    }
    out.set(key, value);
  }
  return out;
}

/** Splits the clientId into device and module id. */
export function parseClientId(clientId: string): { deviceId: string; moduleId?: string } | undefined {
  const parts = clientId.split('/');
  const [deviceId, moduleId] = parts;
  if (!deviceId || parts.length > 2 || (parts.length === 2 && !moduleId)) return undefined;
  return moduleId ? { deviceId, moduleId } : { deviceId };
}

/** Parses and cross-checks clientId and username; the reason says what to fix. */
export function parseConnectIdentity(clientId: string, username: string | undefined): ConnectIdentityResult {
  const client = parseClientId(clientId);
  if (client === undefined) {
    return { ok: false, reason: `client id '${clientId.slice(0, 260)}' is not {deviceId} or {deviceId}/{moduleId}` };
  }
  if (username === undefined || username === '') {
    return { ok: false, reason: 'the username is missing; send {HostName}/{deviceId}/?api-version=2021-04-12' };
  }
  const q = username.indexOf('/?');
  const path = q < 0 ? username : username.slice(0, q);
  const query = q < 0 ? new Map<string, string>() : parseQuery(username.slice(q + 2));
  const segments = path.replace(/\/+$/, '').split('/');
  const [hostName, deviceId, moduleId] = segments;
  if (!hostName || !deviceId || segments.length > 3) {
    return { ok: false, reason: `username '${username.slice(0, 260)}' is not {HostName}/{deviceId}[/{moduleId}]/?api-version=…` };
  }
  if (deviceId !== client.deviceId || (moduleId ?? undefined) !== client.moduleId) {
    return { ok: false, reason: `username names ${deviceId}${moduleId ? `/${moduleId}` : ''} but the client id is ${clientId}; they must match` };
  }
  const identity: ConnectIdentity = { hostName, deviceId };
  if (moduleId) identity.moduleId = moduleId;
  const apiVersion = query.get('api-version');
  if (apiVersion) identity.apiVersion = apiVersion;
  const modelId = query.get('model-id');
  if (modelId) identity.modelId = modelId;
  const clientType = query.get('DeviceClientType');
  if (clientType) identity.clientType = clientType;
  return { ok: true, identity };
}
