import { TributaryError } from '../errors/index.ts';
import { hasPermission, type Permission, type SharedAccessPolicy } from './policies.ts';
import { parseSasToken, resourceCovers, verifySasToken } from './sas.ts';

export interface AuthenticateServiceRequestOptions {
  /** The hub's HostName: service tokens carry it raw as `sr` (iothub-wire.md §1.3). */
  hostName: string;
  /** The permission the operation needs (registry read/write, service connect, …). */
  required: Permission;
  /** Looks a policy up by name (`skn`); undefined when there is none. */
  lookupPolicy: (keyName: string) => Promise<SharedAccessPolicy | undefined>;
  nowSeconds?: number;
}

function unauthorized(message: string, details?: Record<string, unknown>): TributaryError {
  return new TributaryError('IotHubUnauthorizedAccess', message, details === undefined ? {} : { details });
}

/**
 * Authenticates a service REST call from its `Authorization` header and returns the policy that signed it.
 * Every refusal is 401 IotHubUnauthorizedAccess (IoT Hub answers a valid token of a policy without the needed
 * permission with 401 as well, not 403 — and the SDK maps 403 to TooManyDevicesError, wire §5).
 */
export async function authenticateServiceRequest(
  authorization: string | undefined,
  o: AuthenticateServiceRequestOptions,
): Promise<SharedAccessPolicy> {
  if (authorization === undefined || authorization.trim() === '') {
    throw unauthorized('The request has no Authorization header; send a SharedAccessSignature signed with a shared access policy key');
  }
  const token = parseSasToken(authorization.trim());
  if (!resourceCovers(token.resource, o.hostName)) {
    throw unauthorized(`The SAS token is for '${token.resource}', not for this hub '${o.hostName}'; sign it with sr=${o.hostName}`);
  }
  if (token.keyName === undefined) {
    throw unauthorized('The SAS token has no skn; service calls need a token signed with a shared access policy (skn=<policy name>)');
  }
  const policy = await o.lookupPolicy(token.keyName);
  if (policy === undefined) {
    throw unauthorized(`No shared access policy named '${token.keyName}'; use an existing policy (e.g. iothubowner)`);
  }
  verifySasToken(token, [policy.primaryKey, policy.secondaryKey], o.nowSeconds);
  if (!hasPermission(policy, o.required)) {
    throw unauthorized(`Shared access policy '${policy.keyName}' lacks the ${o.required} permission this operation needs; use a policy that has it`,
      { policy: policy.keyName, required: o.required });
  }
  return policy;
}
