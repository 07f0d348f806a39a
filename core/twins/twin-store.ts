/**
 * Twin reads and writes on the Store (PostgreSQL or PGlite). A write is one transaction that locks the twin row
 * (`SELECT … FOR UPDATE`), checks If-Match, merges, checks the limits and writes back, so concurrent service and
 * device patches of one twin serialize: every write sees the previous one, versions rise by exactly one per write and
 * no update is lost. The rows of identities and other twins are not locked.
 *
 * Versions (IoT Hub "Understand and use device twins"): the twin `version` rises on every write; a section's
 * `$version` rises when that section is written. The etag changes with tags and desired properties — the parts the
 * service writes under If-Match — so a device reporting its state does not make a service's read stale.
 */
import { TributaryError } from '../errors/index.ts';
import { checkEtag, twinEtagOf } from '../registry/ids.ts';
import type { TwinChange, TwinUpdateOrigin } from '../serde/records.ts';
import type { Queryable, Store } from '../store/types.ts';
import { TWIN_SELECT, twinDocument, type TwinDocument, type TwinRow } from './document.ts';
import type { TwinChanges, TwinReplacement } from './input.ts';
import { checkSectionSize, type TwinSectionName } from './limits.ts';
import { applySectionPatch, diffSections, type Stamp } from './patch.ts';

export interface TwinTarget {
  deviceId: string;
  /** Absent, null or '' for the device's own twin. */
  moduleId?: string | null | undefined;
}

export interface TwinWriteOptions {
  /** The caller's If-Match ('*' or an etag, quoted or not); absent = unconditional. */
  ifMatch?: string | null | undefined;
  origin: TwinUpdateOrigin;
  requestId?: string | null | undefined;
  /** The time stamped into `$metadata` (default: now). */
  now?: Date;
}

export interface TwinWriteResult {
  /** The twin after the write (unchanged when the write changed nothing). */
  document: TwinDocument;
  /** The TwinChange record for `iot.twin.changes`; undefined when no section was written. */
  change: TwinChange | undefined;
}

/** The twin columns a write locks and patches: the sections and versions, without the identity fields of TwinRow. */
type LockedTwin = Pick<TwinRow, 'etag' | 'version' | 'tags' | 'desired' | 'desired_version' | 'desired_metadata' | 'reported' | 'reported_version' | 'reported_metadata'>;

const SECTIONS: readonly TwinSectionName[] = ['tags', 'desired', 'reported'];

function moduleKey(target: TwinTarget): string {
  return target.moduleId ?? '';
}

export function describeTwin(target: TwinTarget): string {
  return moduleKey(target) === '' ? `the twin of device ${target.deviceId}` : `the twin of module ${target.moduleId} on device ${target.deviceId}`;
}

/** DeviceNotFound or ModuleNotFound, as IoT Hub answers a twin request for an identity that does not exist. */
async function notFound(q: Queryable, target: TwinTarget): Promise<TributaryError> {
  const moduleId = moduleKey(target);
  if (moduleId !== '') {
    const device = await q.query('SELECT 1 FROM devices WHERE device_id = $1', [target.deviceId]);
    if (device.length > 0) {
      return new TributaryError('ModuleNotFound', `module ${moduleId} is not registered on device ${target.deviceId}; create the module first`, { details: { deviceId: target.deviceId, moduleId } });
    }
  }
  return new TributaryError('DeviceNotFound', `device ${target.deviceId} is not registered; create the device first`, { details: { deviceId: target.deviceId } });
}

export async function selectTwinDocument(q: Queryable, target: TwinTarget): Promise<TwinDocument | undefined> {
  const rows = await q.query<TwinRow>(`SELECT ${TWIN_SELECT} WHERE t.device_id = $1 AND t.module_id = $2`, [target.deviceId, moduleKey(target)]);
  return rows[0] === undefined ? undefined : twinDocument(rows[0]);
}

export class TwinStore {
  constructor(private readonly store: Store) {}

  async get(target: TwinTarget): Promise<TwinDocument> {
    const document = await selectTwinDocument(this.store, target);
    if (document === undefined) throw await notFound(this.store, target);
    return document;
  }

  /** Merges the changes (service PATCH, device reported PATCH, jobs). */
  async update(target: TwinTarget, changes: TwinChanges, o: TwinWriteOptions): Promise<TwinWriteResult> {
    return withDocument(await this.write(target, o, 'updateTwin', () => changes));
  }

  /**
   * Merges like `update` without reading the resulting document back (a third of a write's statements): for writers
   * that only pass the change on, such as the twins processor. Undefined when nothing was written.
   */
  async applyChanges(target: TwinTarget, changes: TwinChanges, o: TwinWriteOptions): Promise<TwinChange | undefined> {
    return (await this.write(target, o, 'updateTwin', () => changes, false)).change;
  }

  /** Replaces tags and desired properties (service PUT); reported properties are kept. */
  async replace(target: TwinTarget, replacement: TwinReplacement, o: TwinWriteOptions): Promise<TwinWriteResult> {
    return withDocument(await this.write(target, o, 'replaceTwin', (current) => ({
      tags: diffSections(current.tags, replacement.tags),
      desired: diffSections(current.desired, replacement.desired),
    })));
  }

  /** Records the DTDL model id a device announced when it connected (IoT Plug and Play); not a twin write. */
  async setModelId(target: TwinTarget, modelId: string): Promise<void> {
    await this.store.query('UPDATE twins SET model_id = $3 WHERE device_id = $1 AND module_id = $2 AND model_id <> $3', [target.deviceId, moduleKey(target), modelId]);
  }

  private async write(
    target: TwinTarget, o: TwinWriteOptions, opType: TwinChange['opType'], changesFor: (current: LockedTwin) => TwinChanges, readBack = true,
  ): Promise<{ document: TwinDocument | undefined; change: TwinChange | undefined }> {
    return this.store.transaction(async (tx) => {
      const [current] = await tx.query<LockedTwin>(
        `SELECT etag, version, tags, desired, desired_version, desired_metadata, reported, reported_version, reported_metadata
           FROM twins WHERE device_id = $1 AND module_id = $2 FOR UPDATE`,
        [target.deviceId, moduleKey(target)],
      );
      if (current === undefined) throw await notFound(tx, target);
      // Read the clock once the lock is held, so `$lastUpdated` never goes back while versions go up.
      const now = o.now ?? new Date();
      checkEtag(o.ifMatch ?? undefined, current.etag, describeTwin(target));

      const changes = changesFor(current);
      const written = SECTIONS.filter((s) => changes[s] !== undefined && Object.keys(changes[s]!).length > 0);
      if (written.length === 0) {
        return { document: readBack ? await selectTwinDocument(tx, target) : undefined, change: undefined };
      }

      const version = current.version + 1;
      const next = { ...current, version };
      const lastUpdated = now.toISOString();
      for (const section of written) {
        const patch = changes[section]!;
        if (section === 'desired') {
          next.desired_version = current.desired_version + 1;
          const stamp: Stamp = { lastUpdated, lastUpdatedVersion: next.desired_version };
          ({ values: next.desired, metadata: next.desired_metadata } = applySectionPatch(current.desired, current.desired_metadata, patch, stamp));
        } else if (section === 'reported') {
          next.reported_version = current.reported_version + 1;
          ({ values: next.reported, metadata: next.reported_metadata } = applySectionPatch(current.reported, current.reported_metadata, patch, { lastUpdated }));
        } else {
          // Tags carry no $metadata in IoT Hub's twin.
          next.tags = applySectionPatch(current.tags, {}, patch, { lastUpdated }).values;
        }
        checkSectionSize(section, section === 'tags' ? next.tags : section === 'desired' ? next.desired : next.reported);
      }
      if (written.includes('tags') || written.includes('desired')) next.etag = twinEtagOf(version);

      await tx.query(
        `UPDATE twins SET etag = $3, version = $4, tags = $5::jsonb, desired = $6::jsonb, desired_version = $7,
           desired_metadata = $8::jsonb, reported = $9::jsonb, reported_version = $10, reported_metadata = $11::jsonb,
           updated_at = $12::timestamptz
         WHERE device_id = $1 AND module_id = $2`,
        [target.deviceId, moduleKey(target), next.etag, version, next.tags, next.desired, next.desired_version,
          next.desired_metadata, next.reported, next.reported_version, next.reported_metadata, lastUpdated],
      );
      const document = readBack ? await selectTwinDocument(tx, target) : undefined;
      const change: TwinChange = {
        opType,
        deviceId: target.deviceId,
        moduleId: moduleKey(target) === '' ? null : moduleKey(target),
        version,
        etag: next.etag,
        desiredVersion: written.includes('desired') ? next.desired_version : null,
        reportedVersion: written.includes('reported') ? next.reported_version : null,
        tagsPatch: written.includes('tags') ? JSON.stringify(changes.tags) : null,
        desiredPatch: written.includes('desired') ? JSON.stringify(changes.desired) : null,
        reportedPatch: written.includes('reported') ? JSON.stringify(changes.reported) : null,
        origin: o.origin,
        requestId: o.requestId ?? null,
        operationTime: now.getTime(),
      };
      return { document, change };
    });
  }
}

function withDocument(result: { document: TwinDocument | undefined; change: TwinChange | undefined }): TwinWriteResult {
  // The row was locked and written in the same transaction, so reading it back cannot miss.
  if (result.document === undefined) throw new TributaryError('ServerError', 'a twin written in this transaction could not be read back');
  return { document: result.document, change: result.change };
}
