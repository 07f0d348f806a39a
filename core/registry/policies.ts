/**
 * Hub-level shared access policies (core/auth/policies.ts) kept in `shared_access_policies`: created with fresh
 * keys the first time the hub starts, then stable — every node, and every restart, signs and checks service tokens
 * with the same keys until an operator rotates one.
 */
import { DEFAULT_POLICIES, PERMISSIONS, type Permission, type SharedAccessPolicy } from '../auth/policies.ts';
import { TributaryError } from '../errors/index.ts';
import type { Queryable, Store } from '../store/types.ts';
import { newSymmetricKey } from './ids.ts';

interface PolicyRow extends Record<string, unknown> {
  key_name: string;
  primary_key: string;
  secondary_key: string;
  rights: string[];
}

function policyOf(row: PolicyRow): SharedAccessPolicy {
  // The table's CHECK keeps rights within PERMISSIONS; filter anyway so the type holds if the table is edited by hand.
  const rights = row.rights.filter((r): r is Permission => (PERMISSIONS as readonly string[]).includes(r));
  return { keyName: row.key_name, primaryKey: row.primary_key, secondaryKey: row.secondary_key, rights };
}

/**
 * Inserts the default policies that are missing, with new keys; existing ones (and their keys) are left alone, so
 * this is safe on every start and from several nodes at once (ON CONFLICT DO NOTHING).
 */
export async function ensureDefaultPolicies(store: Store): Promise<SharedAccessPolicy[]> {
  await store.transaction(async (tx) => {
    for (const policy of DEFAULT_POLICIES) {
      await tx.query(
        `INSERT INTO shared_access_policies (key_name, primary_key, secondary_key, rights) VALUES ($1, $2, $3, $4::text[])
         ON CONFLICT (key_name) DO NOTHING`,
        [policy.keyName, newSymmetricKey(), newSymmetricKey(), [...policy.rights]],
      );
    }
  });
  return listPolicies(store);
}

export async function getPolicy(q: Queryable, keyName: string): Promise<SharedAccessPolicy | undefined> {
  const rows = await q.query<PolicyRow>('SELECT key_name, primary_key, secondary_key, rights FROM shared_access_policies WHERE key_name = $1', [keyName]);
  return rows[0] === undefined ? undefined : policyOf(rows[0]);
}

export async function listPolicies(q: Queryable): Promise<SharedAccessPolicy[]> {
  const rows = await q.query<PolicyRow>('SELECT key_name, primary_key, secondary_key, rights FROM shared_access_policies ORDER BY key_name');
  return rows.map(policyOf);
}

/** Replaces one key with a fresh one; tokens signed with the other key stay valid, which is what rotation is for. */
export async function rotatePolicyKey(q: Queryable, keyName: string, which: 'primary' | 'secondary'): Promise<SharedAccessPolicy> {
  if (which !== 'primary' && which !== 'secondary') {
    throw new TributaryError('ArgumentInvalid', `key to rotate must be "primary" or "secondary", got ${JSON.stringify(which)}`);
  }
  const column = which === 'primary' ? 'primary_key' : 'secondary_key';
  const rows = await q.query<PolicyRow>(
    `UPDATE shared_access_policies SET ${column} = $2, updated_at = now() WHERE key_name = $1
     RETURNING key_name, primary_key, secondary_key, rights`,
    [keyName, newSymmetricKey()],
  );
  if (rows[0] === undefined) {
    // No PolicyNotFound code exists (core/errors/codes.ts); ArgumentInvalid is the closest: the name is wrong.
    throw new TributaryError('ArgumentInvalid', `no shared access policy is named "${keyName}"; list the policies and use one of their key names`, { details: { keyName } });
  }
  return policyOf(rows[0]);
}
