// The syslog sink's resend window: whole messages, newest kept up to the byte limit, in order, also
// across the compaction that drops the departed prefix.
import { describe, expect, it } from 'vitest';
import { ResendWindow } from '../../src/sinks/syslog/resend-window';

const message = (i: number) => Buffer.from(`${String(i).padStart(6, '0')};`);

describe('ResendWindow', () => {
  it('keeps the newest whole messages within maxBytes, oldest first', () => {
    const window = new ResendWindow(20);
    for (let i = 0; i < 5; i++) window.add(message(i));
    expect(window.count).toBe(2);
    expect(window.bytes).toBe(14);
    expect(window.concat().toString()).toBe('000003;000004;');
  });

  it('a message larger than the limit is not kept', () => {
    const window = new ResendWindow(4);
    window.add(message(1));
    expect([window.count, window.bytes, window.concat().length]).toEqual([0, 0, 0]);
  });

  it('stays exact across many compactions (100 000 messages through a window of 3 000)', () => {
    const window = new ResendWindow(3_000 * 7);
    for (let i = 0; i < 100_000; i++) window.add(message(i));
    expect(window.count).toBe(3_000);
    const expected = Array.from({ length: 3_000 }, (_, k) => message(97_000 + k).toString()).join('');
    expect(window.concat().toString()).toBe(expected);
  });
});
