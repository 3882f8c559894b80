import { describe, expect, it } from 'vitest';
import { REPEAT_MS, StopSignals } from '../../src/cli/stop-signals';

describe('stop signals', () => {
  it('the first signal stops; the same one again at once is the same request (terminal + npm); later, or another signal, forces', () => {
    const twice = new StopSignals();
    expect(twice.receive('SIGINT', 1_000)).toBe('stop');
    expect(twice.receive('SIGINT', 1_003)).toBe('repeat');
    expect(twice.receive('SIGINT', 1_000 + REPEAT_MS)).toBe('force');

    const other = new StopSignals();
    expect(other.receive('SIGTERM', 0)).toBe('stop');
    expect(other.receive('SIGINT', 1)).toBe('force');
  });
});
