/**
 * Device and module authentication for every protocol adapter (DESIGN.md §7, iothub-wire.md §1.3, §1.4):
 * - SAS as the SDK sends it: a device-scoped token (`sr` = `{host}/devices/{id}[/modules/{m}]`) signed with the
 *   identity's primary or secondary key, or a token signed with a hub policy key (`skn`) whose policy has DeviceConnect
 *   and whose `sr` covers the identity;
 * - X.509 selfSigned: the client certificate's SHA-1 or SHA-256 thumbprint equals the primary or secondary one;
 * - X.509 certificateAuthority: the certificate chains up to a *verified* CA certificate and its CN is the device id.
 * Failures are TributaryErrors whose `details.refusal` tells adapters how to answer (MQTT CONNACK 4 vs 5).
 */
import type { SharedAccessPolicy } from '../../core/auth/policies.ts';
import { hasPermission } from '../../core/auth/policies.ts';
import { deviceResourceUri, parseSasToken, resourceCovers, verifySasToken } from '../../core/auth/sas.ts';
import { certificateCommonName, certificateThumbprint, verifyCertificateChain } from '../../core/auth/x509.ts';
import { TributaryError } from '../../core/errors/index.ts';
import type { IdentityCredentials } from '../../core/registry/index.ts';
import type { CredentialCache } from './credential-cache.ts';
import type { AuthMethod, ConnectRequest, DeviceIdentity } from './types.ts';

/** Where verified CA certificates come from (core/auth's CaCertificateStore). */
export interface VerifiedCaSource {
  verifiedCaPems(): Promise<string[]>;
}

export interface AuthenticatorOptions {
  hostNames: readonly string[];
  credentials: CredentialCache;
  lookupPolicy: (keyName: string) => Promise<SharedAccessPolicy | undefined>;
  caStore?: VerifiedCaSource;
  clock?: () => number;
}

/** `credentials`: the proof is wrong (MQTT CONNACK 4); `notAuthorized`: unknown, disabled or not allowed (CONNACK 5). */
export type Refusal = 'credentials' | 'notAuthorized';

function refuse(refusal: Refusal, message: string): TributaryError {
  return new TributaryError('IotHubUnauthorizedAccess', message, { details: { refusal } });
}

/**
 * IoT Hub's `iothub-connection-auth-method` text. SAS matches IoT Hub byte for byte; the X.509 issuer names
 * (`self`, `external`) follow IoT Hub's wording as far as we know it [INF].
 */
export function authMethodJson(m: AuthMethod): string {
  const issuer = m.type === 'sas' ? 'iothub' : m.issuer === 'self' ? 'self' : 'external';
  const key = `${m.scope}|${m.type}|${issuer}`;
  let json = AUTH_METHOD_JSON.get(key);
  if (json === undefined) AUTH_METHOD_JSON.set(key, (json = JSON.stringify({ scope: m.scope, type: m.type, issuer, acceptingIpFilterRule: null })));
  return json;
}

/**
 * The few distinct auth-method texts, built once: every identity keeps its text for its connection's lifetime, and a
 * fresh copy per connection is ~100 bytes on every idle connection (issue 5: ≤ 20 KB per idle TLS connection).
 */
const AUTH_METHOD_JSON = new Map<string, string>();

export class Authenticator {
  private readonly hostNames: Set<string>;
  private readonly clock: () => number;
  /** Verified CA PEMs, re-read at most every few seconds (every X.509 CA connect needs them). */
  private cas: { at: number; pems: Promise<string[]> } | undefined;

  constructor(private readonly o: AuthenticatorOptions) {
    this.hostNames = new Set(o.hostNames.map((h) => h.toLowerCase()));
    this.clock = o.clock ?? Date.now;
  }

  async authenticate(req: ConnectRequest): Promise<DeviceIdentity> {
    if (!this.hostNames.has(req.hostName.toLowerCase())) {
      throw refuse('notAuthorized', `This hub is ${[...this.hostNames].join(' / ')}, not '${req.hostName}'; use the hub's HostName in the connection string`);
    }
    const who = req.moduleId ? `module ${req.deviceId}/${req.moduleId}` : `device ${req.deviceId}`;
    const creds = await this.o.credentials.get(req.deviceId, req.moduleId);
    if (creds === undefined) throw refuse('notAuthorized', `${who} is not registered; create it in the registry first`);
    if (creds.status !== 'enabled') throw refuse('notAuthorized', `${who} is disabled; enable it in the registry to connect`);
    const scope = req.moduleId ? 'module' : 'device';
    if (req.sasToken !== undefined) return this.bySas(req, creds, scope, who);
    if (req.clientCertificate !== undefined) return this.byCertificate(req.clientCertificate, creds, scope, who);
    throw refuse('credentials', `${who} sent neither a SAS token nor a client certificate`);
  }

  private identity(creds: IdentityCredentials, method: AuthMethod, expiresAt?: number): DeviceIdentity {
    const identity: DeviceIdentity = { deviceId: creds.deviceId, generationId: creds.generationId, authMethod: method, authMethodJson: authMethodJson(method) };
    if (creds.moduleId) identity.moduleId = creds.moduleId;
    if (expiresAt !== undefined) identity.expiresAt = expiresAt;
    return identity;
  }

  private async bySas(req: ConnectRequest, creds: IdentityCredentials, scope: 'device' | 'module', who: string): Promise<DeviceIdentity> {
    let token;
    try {
      token = parseSasToken(req.sasToken ?? '');
    } catch (err) {
      throw refuse('credentials', (err as Error).message);
    }
    const resource = deviceResourceUri(req.hostName, req.deviceId, req.moduleId);
    if (!resourceCovers(token.resource, resource)) {
      throw refuse('credentials', `The SAS token is for '${token.resource}', which does not cover ${resource}; sign a token for this identity`);
    }
    const nowSeconds = this.clock() / 1000;
    if (token.keyName !== undefined) {
      const policy = await this.o.lookupPolicy(token.keyName);
      if (policy === undefined) throw refuse('credentials', `No shared access policy named '${token.keyName}'`);
      verifyOrRefuse(() => verifySasToken(token, [policy.primaryKey, policy.secondaryKey], nowSeconds));
      if (!hasPermission(policy, 'DeviceConnect')) {
        throw refuse('notAuthorized', `Shared access policy '${policy.keyName}' lacks DeviceConnect; use a policy that has it or the ${scope} key`);
      }
      return this.identity(creds, { scope: 'hub', type: 'sas', policy: policy.keyName }, token.expiresAt);
    }
    if (creds.authType !== 'sas') {
      throw refuse('credentials', `${who} authenticates with ${creds.authType}, not a symmetric key; present its certificate`);
    }
    const keys = [creds.primaryKey, creds.secondaryKey].filter((k): k is string => k !== null);
    verifyOrRefuse(() => verifySasToken(token, keys, nowSeconds));
    return this.identity(creds, { scope, type: 'sas' }, token.expiresAt);
  }

  private async byCertificate(cert: NonNullable<ConnectRequest['clientCertificate']>, creds: IdentityCredentials, scope: 'device' | 'module', who: string): Promise<DeviceIdentity> {
    if (creds.authType === 'selfSigned') {
      const given = [certificateThumbprint(cert.leafPem, 'sha1'), certificateThumbprint(cert.leafPem, 'sha256')];
      const known = [creds.primaryThumbprint, creds.secondaryThumbprint].filter((t): t is string => t !== null).map((t) => t.toUpperCase());
      if (!given.some((t) => known.includes(t))) {
        throw refuse('credentials', `The client certificate's thumbprint ${given[0]} matches neither thumbprint registered for ${who}`);
      }
      return this.identity(creds, { scope, type: 'x509Certificate', issuer: 'self' });
    }
    if (creds.authType === 'certificateAuthority') {
      const cn = certificateCommonName(cert.leafPem);
      const expected = creds.moduleId ?? creds.deviceId;
      if (cn !== expected) throw refuse('credentials', `The client certificate's CN is '${cn}', but it must be '${expected}' for ${who}`);
      const result = await verifyCertificateChain({
        leafPem: cert.leafPem, intermediatePems: cert.intermediatePems, trustedCaPems: await this.verifiedCas(), now: new Date(this.clock()),
      });
      if (!result.ok) throw refuse('credentials', `The client certificate of ${who} is not trusted: ${result.reason}`);
      return this.identity(creds, { scope, type: 'x509Certificate', issuer: 'ca' });
    }
    throw refuse('credentials', `${who} authenticates with ${creds.authType}; connect with a SAS token`);
  }

  private verifiedCas(): Promise<string[]> {
    const now = this.clock();
    if (this.o.caStore === undefined) return Promise.resolve([]);
    if (this.cas === undefined || now - this.cas.at > 5000) {
      const pems = this.o.caStore.verifiedCaPems();
      this.cas = { at: now, pems };
      pems.catch(() => { this.cas = undefined; });
    }
    return this.cas.pems;
  }

  /** Forgets the cached CA list (a CA was verified or deleted). */
  invalidateCas(): void {
    this.cas = undefined;
  }
}

function verifyOrRefuse(check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof TributaryError && err.code === 'IotHubUnauthorizedAccess') throw refuse('credentials', err.message);
    throw err;
  }
}
