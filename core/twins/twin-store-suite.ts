/**
 * TwinStore on a real store: run by twin-store.test.ts on PGlite and by twin-store.int.test.ts on PostgreSQL, so
 * the locking, JSONB handling and version arithmetic are checked on both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TributaryError } from '../errors/index.ts';
import { DeviceRegistry } from '../registry/index.ts';
import type { Store } from '../store/types.ts';
import type { JsonObject } from './document.ts';
import { TwinStore } from './twin-store.ts';

export interface TwinSuiteFixture {
  open(): Promise<Store>;
  close(store: Store): Promise<void>;
}

const code = (c: string) => (e: unknown) => e instanceof TributaryError && e.code === c;

export function twinStoreSuite(name: string, fixture: TwinSuiteFixture): void {
  describe(`TwinStore on ${name}`, () => {
    let store: Store;
    let twins: TwinStore;
    let registry: DeviceRegistry;
    let n = 0;
    const newDevice = async (): Promise<string> => {
      const id = `dev-${++n}`;
      await registry.putDevice(id, {});
      return id;
    };

    before(async () => {
      store = await fixture.open();
      twins = new TwinStore(store);
      registry = new DeviceRegistry({ store, hubName: 'twin-suite' });
    });
    after(async () => fixture.close(store));

    it('a new identity has an empty twin at version 1 with $version 1 sections', async () => {
      const deviceId = await newDevice();
      const twin = await twins.get({ deviceId });
      assert.equal(twin.deviceId, deviceId);
      assert.equal(twin.version, 1);
      assert.deepEqual(twin.tags, {});
      assert.equal(twin.properties.desired.$version, 1);
      assert.equal(twin.properties.reported.$version, 1);
      assert.equal(twin.moduleId, undefined);
    });

    it('merges patches, counts versions per write and per section, stamps metadata', async () => {
      const deviceId = await newDevice();
      const t1 = new Date('2026-03-01T10:00:00.000Z');
      const t2 = new Date('2026-03-01T11:00:00.000Z');
      const first = await twins.update({ deviceId }, { tags: { room: '1' }, desired: { fan: { speed: 1, mode: 'auto' } } }, { origin: 'Service', now: t1 });
      const second = await twins.update({ deviceId }, { desired: { fan: { speed: null, level: 3 } }, reported: { fw: '1.0' } }, { origin: 'Service', now: t2 });
      const twin = second.document;
      assert.equal(twin.version, 3);
      assert.equal(twin.properties.desired.$version, 3);
      assert.equal(twin.properties.reported.$version, 2);
      assert.deepEqual(twin.tags, { room: '1' });
      assert.deepEqual({ ...twin.properties.desired, $metadata: undefined, $version: undefined }, { fan: { mode: 'auto', level: 3 }, $metadata: undefined, $version: undefined });
      const meta = twin.properties.desired.$metadata as Record<string, Record<string, Record<string, unknown>>>;
      assert.equal(meta.$lastUpdated, t2.toISOString());
      assert.equal(meta.$lastUpdatedVersion, 3);
      assert.deepEqual(meta.fan?.mode, { $lastUpdated: t1.toISOString(), $lastUpdatedVersion: 2 });
      assert.deepEqual(meta.fan?.level, { $lastUpdated: t2.toISOString(), $lastUpdatedVersion: 3 });
      assert.equal(meta.fan?.speed, undefined);
      assert.equal((twin.properties.reported.$metadata as JsonObject).$lastUpdated, t2.toISOString());
      assert.equal(first.change?.version, 2);
      assert.deepEqual(JSON.parse(second.change?.desiredPatch ?? 'null'), { fan: { speed: null, level: 3 } });
      assert.equal(second.change?.desiredVersion, 3);
      assert.equal(second.change?.reportedVersion, 2);
      assert.equal(second.change?.tagsPatch, null);
    });

    it('changes the etag with tags and desired, not with reported; a stale If-Match is PreconditionFailed (412)', async () => {
      const deviceId = await newDevice();
      const before = await twins.get({ deviceId });
      const afterReported = await twins.update({ deviceId }, { reported: { t: 1 } }, { origin: 'Device' });
      assert.equal(afterReported.document.etag, before.etag);
      const afterDesired = await twins.update({ deviceId }, { desired: { t: 1 } }, { origin: 'Service', ifMatch: `"${before.etag}"` });
      assert.notEqual(afterDesired.document.etag, before.etag);
      await assert.rejects(twins.update({ deviceId }, { tags: { x: 1 } }, { origin: 'Service', ifMatch: `"${before.etag}"` }), (e: unknown) => {
        return e instanceof TributaryError && e.code === 'PreconditionFailed' && e.status === 412 && e.iotHubCode === 412001;
      });
      const afterTags = await twins.update({ deviceId }, { tags: { x: 1 } }, { origin: 'Service', ifMatch: afterDesired.document.etag });
      assert.notEqual(afterTags.document.etag, afterDesired.document.etag);
      await twins.update({ deviceId }, { tags: { y: 1 } }, { origin: 'Service', ifMatch: '*' });
    });

    it('replace empties what the replacement leaves out, keeps reported, and notifies only the difference', async () => {
      const deviceId = await newDevice();
      const t1 = new Date('2026-03-02T10:00:00.000Z');
      await twins.update({ deviceId }, { tags: { a: 1, b: 2 }, desired: { keep: 1, drop: 2 }, reported: { r: 1 } }, { origin: 'Service', now: t1 });
      const result = await twins.replace({ deviceId }, { tags: { b: 3 }, desired: { keep: 1, add: true } }, { origin: 'Service' });
      const twin = result.document;
      assert.deepEqual(twin.tags, { b: 3 });
      assert.equal(twin.properties.desired.keep, 1);
      assert.equal(twin.properties.desired.add, true);
      assert.equal('drop' in twin.properties.desired, false);
      assert.equal(twin.properties.reported.r, 1);
      assert.deepEqual(JSON.parse(result.change?.desiredPatch ?? 'null'), { drop: null, add: true });
      assert.equal(result.change?.opType, 'replaceTwin');
      assert.deepEqual((twin.properties.desired.$metadata as Record<string, JsonObject>).keep, { $lastUpdated: t1.toISOString(), $lastUpdatedVersion: 2 });
    });

    it('an empty patch writes nothing', async () => {
      const deviceId = await newDevice();
      const result = await twins.update({ deviceId }, { desired: {} }, { origin: 'Service' });
      assert.equal(result.change, undefined);
      assert.equal(result.document.version, 1);
    });

    it('refuses a write that would take a section over its size limit and keeps the twin as it was', async () => {
      const deviceId = await newDevice();
      await twins.update({ deviceId }, { tags: { a: 'x'.repeat(4000), b: 'y'.repeat(4000) } }, { origin: 'Service' });
      await assert.rejects(twins.update({ deviceId }, { tags: { c: 'z'.repeat(300) } }, { origin: 'Service' }), code('ArgumentInvalid'));
      const twin = await twins.get({ deviceId });
      assert.equal(twin.version, 2);
      assert.equal('c' in twin.tags, false);
      // deleting makes room again
      await twins.update({ deviceId }, { tags: { a: null, c: 'z'.repeat(300) } }, { origin: 'Service' });
    });

    it('module twins are their own documents; unknown identities are DeviceNotFound / ModuleNotFound', async () => {
      const deviceId = await newDevice();
      await registry.putModule(deviceId, 'm1', {});
      const result = await twins.update({ deviceId, moduleId: 'm1' }, { reported: { m: true } }, { origin: 'Device' });
      assert.equal(result.document.moduleId, 'm1');
      assert.equal(result.change?.moduleId, 'm1');
      assert.equal((await twins.get({ deviceId })).properties.reported.m, undefined);
      await assert.rejects(twins.get({ deviceId, moduleId: 'nope' }), code('ModuleNotFound'));
      await assert.rejects(twins.get({ deviceId: 'no-such-device' }), code('DeviceNotFound'));
      await assert.rejects(twins.update({ deviceId: 'no-such-device' }, { desired: { a: 1 } }, { origin: 'Service' }), code('DeviceNotFound'));
    });

    it('serializes 50 service and 50 device patches running at once: versions strictly increasing, nothing lost', async () => {
      const deviceId = await newDevice();
      const N = 50;
      const writes = [];
      for (let i = 0; i < N; i++) {
        writes.push(twins.update({ deviceId }, { desired: { [`s${i}`]: i } }, { origin: 'Service', ifMatch: '*' }));
        writes.push(twins.update({ deviceId }, { reported: { [`d${i}`]: i } }, { origin: 'Device' }));
      }
      const results = await Promise.all(writes);
      const versions = results.map((r) => r.change!.version).sort((a, b) => a - b);
      assert.deepEqual(versions, Array.from({ length: 2 * N }, (_, i) => i + 2));
      const desiredVersions = results.flatMap((r) => (r.change?.desiredVersion ? [r.change.desiredVersion] : [])).sort((a, b) => a - b);
      const reportedVersions = results.flatMap((r) => (r.change?.reportedVersion ? [r.change.reportedVersion] : [])).sort((a, b) => a - b);
      assert.deepEqual(desiredVersions, Array.from({ length: N }, (_, i) => i + 2));
      assert.deepEqual(reportedVersions, Array.from({ length: N }, (_, i) => i + 2));
      // each write saw the previous one: within a section, a later version holds every key of an earlier one
      const twin = await twins.get({ deviceId });
      assert.equal(twin.version, 2 * N + 1);
      for (let i = 0; i < N; i++) {
        assert.equal(twin.properties.desired[`s${i}`], i);
        assert.equal(twin.properties.reported[`d${i}`], i);
      }
      // the service's etag from before the last desired write is stale now
      const staleEtag = results.filter((r) => r.change?.desiredVersion).sort((a, b) => a.change!.version - b.change!.version).at(-2)!.document.etag;
      await assert.rejects(twins.update({ deviceId }, { desired: { late: 1 } }, { origin: 'Service', ifMatch: staleEtag }), code('PreconditionFailed'));
    });
  });
}
