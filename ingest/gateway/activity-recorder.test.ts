import { test } from 'node:test';
import assert from 'node:assert/strict';
import { componentLogger } from '../../core/logging/logger.ts';
import type { ActivityUpdate, ConnectionStateUpdate } from '../../core/registry/index.ts';
import { ActivityRecorder, type ActivitySink } from './activity-recorder.ts';

class FakeSink implements ActivitySink {
  activity: ActivityUpdate[][] = [];
  failNext = false;
  async recordConnectionStates(_updates: ConnectionStateUpdate[]): Promise<void> {}
  async recordActivity(updates: ActivityUpdate[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('store down');
    }
    this.activity.push(updates);
  }
}

const byId = (updates: ActivityUpdate[] | undefined) =>
  Object.fromEntries((updates ?? []).map((u) => [u.moduleId ? `${u.deviceId}/${u.moduleId}` : u.deviceId, u.at.getTime()]));

test('one update per identity per flush, with its latest time as a Date; modules apart from their device', async () => {
  const sink = new FakeSink();
  const recorder = new ActivityRecorder(sink, 60_000, componentLogger('test'));
  recorder.activityAt({ deviceId: 'd1' }, 1000);
  recorder.activityAt({ deviceId: 'd1' }, 3000);
  recorder.activityAt({ deviceId: 'd1' }, 2000); // older than what is pending: ignored
  recorder.activityAt({ deviceId: 'd1', moduleId: 'm1' }, 1500);
  await recorder.flush();
  assert.deepEqual(byId(sink.activity[0]), { d1: 3000, 'd1/m1': 1500 });
  assert.ok(sink.activity[0]!.every((u) => u.at instanceof Date));
  assert.equal(sink.activity[0]!.find((u) => u.deviceId === 'd1' && !u.moduleId)!.moduleId, undefined);
  // After a flush an identity starts afresh (an earlier time than the flushed one is still written).
  recorder.activityAt({ deviceId: 'd1' }, 500);
  await recorder.flush();
  assert.deepEqual(byId(sink.activity[1]), { d1: 500 });
  await recorder.close();
});

test('a failed flush keeps its updates for the next one unless a newer note replaced them', async () => {
  const sink = new FakeSink();
  const recorder = new ActivityRecorder(sink, 60_000, componentLogger('test'));
  recorder.activityAt({ deviceId: 'a' }, 100);
  recorder.activityAt({ deviceId: 'b' }, 100);
  sink.failNext = true;
  await recorder.flush();
  assert.equal(sink.activity.length, 0);
  recorder.activityAt({ deviceId: 'b' }, 200);
  await recorder.flush();
  assert.deepEqual(byId(sink.activity[0]), { a: 100, b: 200 });
  await recorder.close();
});
