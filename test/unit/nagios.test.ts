// The Nagios plugin's pure parts: ranges as the plugin guidelines define them, perfdata and status
// lines, and each check mode's verdicts from the daemon's answers. A real Nagios runs the command
// in test/integration/nagios.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentResult, healthResult, heartbeatResult, lagResult, readStats, sinksResult, spoolResult, UnreadableAnswer } from '../../src/ops/nagios/modes';
import { exitCode, formatPerfDatum, judge, renderResult, worse } from '../../src/ops/nagios/plugin';
import { alerts, NagiosRangeError, parseRange } from '../../src/ops/nagios/range';

describe('Nagios ranges', () => {
  // The table of the guidelines ("Threshold and ranges", examples), plus the edges.
  const cases: Array<[string, number[], number[]]> = [
    ['10', [0, 5, 10], [-1, 10.5, 11]],
    ['10:', [10, 11, 1e9], [9.99, 0, -5]],
    ['~:10', [-1e9, 0, 10], [10.01, 11]],
    ['10:20', [10, 15, 20], [9, 21]],
    ['@10:20', [9, 21, -3], [10, 15, 20]],
    ['@10', [-1, 11], [0, 10]],
    ['-5:-1', [-5, -3, -1], [0, -6]],
    ['0.5:1.5e1', [0.5, 15], [0.4, 15.1]],
    [':10', [0, 10], [-1, 11]],
  ];
  for (const [text, ok, alert] of cases) {
    it(`'${text}' alerts for ${alert.join(', ')} and not for ${ok.join(', ')}`, () => {
      const range = parseRange(text);
      for (const value of ok) expect(alerts(range, value), `${value}`).toBe(false);
      for (const value of alert) expect(alerts(range, value), `${value}`).toBe(true);
    });
  }

  it('refuses what is not a range, naming it', () => {
    for (const bad of ['', 'abc', '20:10', '@', '1:2:3', '~', '10:x', '0x10']) {
      expect(() => parseRange(bad), bad).toThrow(NagiosRangeError);
    }
  });

  it('property: @start:end alerts exactly where start:end does not', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), fc.double({ noNaN: true, min: -1e6, max: 1e6 }), fc.double({ noNaN: true, min: -2e6, max: 2e6 }), (a, b, value) => {
        const [start, end] = a <= b ? [a, b] : [b, a];
        expect(alerts(parseRange(`@${start}:${end}`), value)).toBe(!alerts(parseRange(`${start}:${end}`), value));
      }),
    );
  });
});

describe('plugin output', () => {
  it('perfdata: label=value[UOM];warn;crit;min;max, empty trailing fields left out, odd labels quoted', () => {
    const thresholds = { warning: parseRange('80'), critical: parseRange('90') };
    expect(formatPerfDatum({ label: 'spool_used', value: 12.3456789, uom: '%', thresholds, min: 0, max: 100 })).toBe('spool_used=12.345679%;80;90;0;100');
    expect(formatPerfDatum({ label: 'lag_kafka', value: 5 })).toBe('lag_kafka=5');
    expect(formatPerfDatum({ label: "it's a=b", value: 1, min: 0 })).toBe("'it''s a_b'=1;;;0");
  });

  it('status line: SERVICE STATE - text | perfdata, no | in the text, details on the next lines', () => {
    const out = renderResult('SPARKNGIN LAG', { state: 'WARNING', summary: 'a | b', perfdata: [{ label: 'x', value: 1 }], details: ['one', 'two'] });
    expect(out).toBe('SPARKNGIN LAG WARNING - a / b | x=1\none\ntwo\n');
  });

  it('exit codes and the order of states', () => {
    expect(['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'].map((state) => exitCode(state as never))).toEqual([0, 1, 2, 3]);
    expect(worse('OK', 'UNKNOWN')).toBe('UNKNOWN');
    expect(worse('UNKNOWN', 'WARNING')).toBe('WARNING');
    expect(worse('CRITICAL', 'WARNING')).toBe('CRITICAL');
    expect(judge(95, { warning: parseRange('80'), critical: parseRange('90') })).toBe('CRITICAL');
    expect(judge(85, { warning: parseRange('80'), critical: parseRange('90') })).toBe('WARNING');
    expect(judge(85, {})).toBe('OK');
  });
});

const stats = (sinks: Array<Record<string, unknown>>, spool: Record<string, unknown> = { bytes: 100, maxBytes: 1000, full: false }) => readStats({ spool, sinks });

describe('check modes', () => {
  const t = { warning: parseRange('100'), critical: parseRange('1000') };

  it('lag: the worst sink decides; --sink picks one; an unknown sink is named', () => {
    const s = stats([
      { sink: 'file', lagRecords: 0, health: { state: 'up' } },
      { sink: 'kafka', lagRecords: 500, health: { state: 'down', detail: 'ECONNREFUSED' } },
    ]);
    const all = lagResult(s, t);
    expect(all.state).toBe('WARNING');
    expect(all.perfdata!.map(formatPerfDatum)).toEqual(['lag_file=0;100;1000;0', 'lag_kafka=500;100;1000;0']);
    expect(lagResult(s, t, 'file').state).toBe('OK');
    expect(() => lagResult(s, t, 'nope')).toThrow(/no sink named 'nope'.*file, kafka/);
    expect(lagResult(stats([{ sink: 'kafka', lagRecords: 5000, health: { state: 'up' } }]), t).state).toBe('CRITICAL');
  });

  it('sinks: down is CRITICAL with its detail; up and starting (nothing sent yet) OK; a state it does not know UNKNOWN', () => {
    const result = sinksResult(stats([{ sink: 'file', lagRecords: 0, health: { state: 'up' } }, { sink: 'kafka', lagRecords: 0, health: { state: 'down', detail: 'broker unreachable' } }]));
    expect(result.state).toBe('CRITICAL');
    expect(result.summary).toBe('file up, kafka down (broker unreachable)');
    expect(sinksResult(stats([{ sink: 'kafka', lagRecords: 0, health: { state: 'starting' } }])).state).toBe('OK');
    expect(sinksResult(stats([{ sink: 'kafka', lagRecords: 0, health: { state: 'sleepy' } }])).state).toBe('UNKNOWN');
  });

  it('spool: percent of the limit; full is CRITICAL whatever the thresholds; no limit reported is UNKNOWN', () => {
    const w = { warning: parseRange('80'), critical: parseRange('90') };
    expect(spoolResult(stats([], { bytes: 850, maxBytes: 1000, full: false }), w).state).toBe('WARNING');
    expect(spoolResult(stats([], { bytes: 10, maxBytes: 1000, full: true }), w).state).toBe('CRITICAL');
    expect(spoolResult(stats([], { bytes: 10, full: false }), w).state).toBe('UNKNOWN');
  });

  it('health: 200 and ready OK; not ready WARNING with the reasons; no ops token UNKNOWN; not 200 CRITICAL', () => {
    expect(healthResult({ status: 200, elapsedMs: 3 }, { status: 200, json: {} }).state).toBe('OK');
    const notReady = healthResult({ status: 200, elapsedMs: 3 }, { status: 503, json: { reasons: ['spool full'] } });
    expect([notReady.state, notReady.summary]).toEqual(['WARNING', 'alive, not ready: spool full']);
    expect(healthResult({ status: 200, elapsedMs: 3 }, { status: 401, json: {} }).state).toBe('UNKNOWN');
    expect(healthResult({ status: 500, elapsedMs: 3 }, undefined).state).toBe('CRITICAL');
  });

  it('heartbeat: age against the thresholds; none found is CRITICAL', () => {
    const th = { warning: parseRange('60'), critical: parseRange('300') };
    expect(heartbeatResult({ instance: 'a', sentMs: 1_000_000 }, 1_030_000, th, 'a', 'hb').state).toBe('OK');
    expect(heartbeatResult({ instance: 'a', sentMs: 1_000_000 }, 1_100_000, th, 'a', 'hb').state).toBe('WARNING');
    expect(heartbeatResult({ instance: 'a', sentMs: 1_000_000 }, 1_400_000, th, 'a', 'hb').state).toBe('CRITICAL');
    expect(heartbeatResult(undefined, 0, th, 'a', 'hb').state).toBe('CRITICAL');
  });

  it('agent: the worst finding decides, each flagged instance named', () => {
    const fleet = { instances: [{ id: '1', name: 'a', findings: [] }, { id: '2', name: 'b', findings: [{ severity: 'critical', message: 'heartbeat late' }] }] };
    const result = agentResult(fleet);
    expect(result.state).toBe('CRITICAL');
    expect(result.summary).toBe('1 of 2 instance(s) flagged: b: heartbeat late');
    expect(agentResult(fleet, 'a').state).toBe('OK');
    expect(() => agentResult({ nope: 1 })).toThrow(UnreadableAnswer);
  });

  it('an answer that is not /stats is unreadable, never a crash', () => {
    for (const bad of [null, 'x', [], { spool: {} }, { spool: { bytes: 'x' }, sinks: [] }, { spool: { bytes: 1 }, sinks: [{}] }]) {
      expect(() => readStats(bad), JSON.stringify(bad)).toThrow(UnreadableAnswer);
    }
  });
});
