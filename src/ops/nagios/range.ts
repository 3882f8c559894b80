// Threshold ranges as the Nagios plugin guidelines define them (monitoring-plugins'
// doc/guidelines: "Threshold and ranges"): a range is `[@]start:end`, where
//   - `start` left out (`:10` or `10`) is 0, `~` is minus infinity, `end` left out (`10:`) is infinity;
//   - a value *outside* start..end (both ends inclusive) alerts;
//   - with a leading `@`, a value *inside* start..end alerts.
// So `10` alerts above 10 or below 0, `10:` below 10, `~:10` above 10, `10:20` outside 10..20, and
// `@10:20` inside it. A start above the end is an error, as in the C plugins.
import { SparknginError } from '../../errors';

export class NagiosRangeError extends SparknginError {
  constructor(text: string, why: string) {
    super('NAGIOS_RANGE_INVALID', `invalid threshold range '${text}': ${why}`);
  }
}

export interface NagiosRange {
  /** As given: perfdata carries the range text, not the parsed numbers. */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** `@`: alert inside the range instead of outside. */
  readonly inside: boolean;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function bound(text: string, whole: string, which: string): number {
  if (!NUMBER.test(text)) throw new NagiosRangeError(whole, `the ${which} '${text}' is not a number`);
  return Number(text);
}

export function parseRange(text: string): NagiosRange {
  const trimmed = text.trim();
  if (trimmed === '') throw new NagiosRangeError(text, 'it is empty');
  const inside = trimmed.startsWith('@');
  const body = inside ? trimmed.slice(1) : trimmed;
  const colon = body.indexOf(':');
  let start = 0;
  let end = Number.POSITIVE_INFINITY;
  if (colon < 0) {
    end = bound(body, text, 'end');
  } else {
    const first = body.slice(0, colon);
    const second = body.slice(colon + 1);
    if (first === '~') start = Number.NEGATIVE_INFINITY;
    else if (first !== '') start = bound(first, text, 'start');
    if (second !== '') end = bound(second, text, 'end');
  }
  if (start > end) throw new NagiosRangeError(text, 'its start is above its end');
  return { text: trimmed, start, end, inside };
}

/** Whether `value` alerts against `range`. */
export function alerts(range: NagiosRange, value: number): boolean {
  const within = value >= range.start && value <= range.end;
  return range.inside ? within : !within;
}
