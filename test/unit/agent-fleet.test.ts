// The agent's rules (src/agent/fleet.ts) with the time given: each finding raised once its
// condition holds, never before, and cleared as soon as it stops holding; heartbeats matched to
// polled instances by instance id; the fleet bounded. And heartbeats as read from Kafka records.
import { describe, expect, it } from 'vitest';
import { Fleet } from '../../src/agent/fleet';
import { readHeartbeat } from '../../src/ops/heartbeat-reader';

const LATE = 10_000;
const fleet = (heartbeats = false) => new Fleet({ lateAfterMs: LATE, lagGrowthPolls: 3, heartbeats, startedMs: 0 });
const stats = (lag: number, health = 'up', extra: Record<string, unknown> = {}) => ({ ...extra, sinks: [{ sink: 'kafka', lagRecords: lag, health: { state: health, ...(health === 'down' ? { detail: 'ECONNREFUSED' } : {}) } }] });
const kinds = (f: Fleet, now: number) => f.view(now).instances.map((instance) => instance.findings.map((finding) => finding.kind));

describe('agent fleet rules', () => {
  it('unreachable: only after lateAfter without an answer, cleared by the next answer', () => {
    const f = fleet();
    f.watch('http://a:7080', 'config', {}, 0);
    f.polled('http://a:7080', stats(0), 1_000);
    f.pollFailed('http://a:7080', 'connection refused');
    expect(f.evaluate(LATE + 1_000)).toEqual([]);
    const raised = f.evaluate(LATE + 1_001);
    expect(raised.map((c) => [c.change, c.finding.kind, c.finding.severity])).toEqual([['raised', 'unreachable', 'critical']]);
    expect(raised[0]!.finding.message).toMatch(/^no answer for 10 s: connection refused$/);
    expect(f.evaluate(LATE + 5_000)).toEqual([]); // raised once, not at every round
    f.polled('http://a:7080', stats(0), LATE + 6_000);
    expect(f.evaluate(LATE + 6_000).map((c) => [c.change, c.finding.kind])).toEqual([['cleared', 'unreachable']]);
    expect(kinds(f, LATE + 6_000)).toEqual([[]]);
  });

  it('heartbeat-late: with Kafka, for an instance whose id is known; a polled instance and its heartbeats are one', () => {
    const f = fleet(true);
    f.watch('http://a:7080', 'config', {}, 0);
    f.polled('http://a:7080', stats(0, 'up', { instance: { id: 'id-a', host: 'a' } }), 100);
    f.heartbeat({ instance: 'id-a', host: 'a', sentMs: 1_000, stopping: false, payload: {} }, 1_000);
    expect(f.view(1_000).instances).toHaveLength(1);
    expect(f.view(1_000).instances[0]!.sources.sort()).toEqual(['config', 'kafka']);
    expect(f.evaluate(1_000 + LATE)).toEqual([]);
    expect(f.evaluate(1_001 + LATE).map((c) => c.finding.kind)).toEqual(['heartbeat-late']);
    f.heartbeat({ instance: 'id-a', host: 'a', sentMs: 20_000, stopping: false, payload: {} }, 20_000);
    expect(f.evaluate(20_000).map((c) => [c.change, c.finding.kind])).toEqual([['cleared', 'heartbeat-late']]);
  });

  it('an instance seen in heartbeats only is watched through them, its sinks from its payload', () => {
    const f = fleet(true);
    f.heartbeat({ instance: 'id-b', host: 'b', sentMs: 0, stopping: false, payload: { sinks: [{ sink: 'kafka', state: 'retrying', up: false, lagRecords: 5, lastError: 'ECONNREFUSED' }] } }, 0);
    const changes = f.evaluate(1);
    expect(changes.map((c) => [c.instance.name, c.finding.kind, c.finding.message])).toEqual([['b', 'sink-down', 'sink kafka down: ECONNREFUSED']]);
    // It is later advertised with its id: the same instance, now polled.
    f.watch('http://b:7080', 'mdns', { name: 'Sparkngin on b', instanceId: 'id-b' }, 2);
    expect(f.view(2).instances.map((i) => [i.id, i.name, i.url])).toEqual([['id-b', 'Sparkngin on b', 'http://b:7080']]);
  });

  it('sink-down with its reason, cleared when the sink is up; lag-growing after N growing polls, cleared when it stops', () => {
    const f = fleet();
    f.watch('http://a:7080', 'config', {}, 0);
    f.polled('http://a:7080', stats(10, 'down'), 1);
    expect(f.evaluate(1).map((c) => c.finding.message)).toEqual(['sink kafka down: ECONNREFUSED']);
    f.polled('http://a:7080', stats(20), 2);
    f.polled('http://a:7080', stats(30), 3);
    expect(f.evaluate(3).map((c) => [c.change, c.finding.kind])).toEqual([['cleared', 'sink-down']]);
    f.polled('http://a:7080', stats(40), 4);
    const growing = f.evaluate(4);
    expect(growing.map((c) => [c.change, c.finding.kind, c.finding.severity])).toEqual([['raised', 'lag-growing', 'warning']]);
    expect(f.view(4).instances[0]!.state).toBe('warning');
    f.polled('http://a:7080', stats(40), 5);
    expect(f.evaluate(5).map((c) => [c.change, c.finding.kind])).toEqual([['cleared', 'lag-growing']]);
  });

  it('an advertised instance that leaves is forgotten, unless the config lists it too', () => {
    const f = fleet();
    f.watch('http://a:7080', 'mdns', {}, 0);
    f.watch('http://b:7080', 'mdns', {}, 0);
    f.watch('http://b:7080', 'config', {}, 0);
    f.forget('http://a:7080', 'mdns');
    f.forget('http://b:7080', 'mdns');
    expect(f.targets()).toEqual(['http://b:7080']);
  });

  it('holds at most maxInstances, whatever heartbeats and advertisements arrive', () => {
    const f = new Fleet({ lateAfterMs: LATE, lagGrowthPolls: 3, heartbeats: true, startedMs: 0, maxInstances: 5 });
    for (let i = 0; i < 50; i++) f.heartbeat({ instance: `id-${i}`, host: undefined, sentMs: 0, stopping: false, payload: {} }, 0);
    for (let i = 0; i < 50; i++) f.watch(`http://h${i}:7080`, 'mdns', {}, 0);
    expect(f.view(0).instances).toHaveLength(5);
  });
});

describe('heartbeats read from Kafka records', () => {
  const beat = { kind: 'sparkngin.heartbeat', format: 1, instance: 'id-a', host: 'ingest-01', sentAt: '2026-12-01T10:00:00.000Z', seq: 3 };
  const record = (value: unknown) => ({ value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) });

  it('a payload, or an envelope carrying it under data', () => {
    const expected = { instance: 'id-a', host: 'ingest-01', sentMs: Date.parse(beat.sentAt), stopping: false };
    expect(readHeartbeat(record(beat))).toMatchObject(expected);
    expect(readHeartbeat(record({ id: 'x', topic: 'sparkngin-heartbeat', ts: 1, data: { ...beat, stopping: true } }))).toMatchObject({ ...expected, stopping: true });
  });

  it('anything else in the topic is passed over', () => {
    for (const other of ['not json', '[1]', { ...beat, kind: 'other' }, { ...beat, instance: '' }, { ...beat, sentAt: 'yesterday' }, { hello: 1 }]) {
      expect(readHeartbeat(record(other)), JSON.stringify(other)).toBeUndefined();
    }
    expect(readHeartbeat({ value: null })).toBeUndefined();
  });
});
