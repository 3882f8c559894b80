// A validating JSON scanner over UTF-8 bytes that allocates nothing: is this range exactly one JSON
// text (a value with JSON white space around it)? The NDJSON hot path needs only that answer, and
// JSON.parse gave it by building every object and string of every line, then dropping them (a
// third of the per-event cost of NDJSON ingest on Node 22: bench/RESULTS.md).
//
// It accepts exactly what JSON.parse accepts (ECMA-404 / RFC 8259: no comments, no trailing commas,
// no leading zeros, no NaN, escapes only \" \\ \/ \b \f \n \r \t \uXXXX, no raw control characters
// in strings), which test/unit/json-scan.test.ts checks against JSON.parse on generated JSON, on
// random and mutated text, and on the classic edge cases. Two things it leaves to its caller: the
// bytes must be valid UTF-8 (the body is checked once, natively, before any line is scanned), and
// the message of a refusal comes from JSON.parse, run on the refused line only.

const OPEN_OBJECT = 0x7b; // {
const CLOSE_OBJECT = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** What a range holds: one JSON text, only JSON white space, or anything else. */
export type Scan = 'json' | 'blank' | 'invalid';

// The open arrays (1) and objects (2) around the scanner, deepest last: shared, grown when a text
// nests deeper than any before (never shrunk: one byte per level).
let stack = new Uint8Array(256);

// Whether the last scanJson met neither a byte of 0x80 or more (only a string can hold one) nor a raw
// CR or LF (only white space can be one): then a text it found to be JSON is ASCII on one line, which
// NW1's payload rules ask (src/envelope/rules.ts) without a pass of their own over the bytes.
let plain = true;

/** Whether the text of the last scanJson call was ASCII without CR or LF, as far as it was scanned. */
export function scannedPlain(): boolean {
  return plain;
}

const isDigit = (code: number): boolean => code >= ZERO && code <= NINE;

/** Whether bytes[start, end) are one JSON text, only white space, or neither. */
export function scanJson(bytes: Uint8Array, start: number, end: number): Scan {
  plain = true;
  let at = skipWhitespace(bytes, start, end);
  if (at === end) return 'blank';
  at = scanValue(bytes, at, end);
  if (at < 0) return 'invalid';
  return skipWhitespace(bytes, at, end) === end ? 'json' : 'invalid';
}

function skipWhitespace(bytes: Uint8Array, at: number, end: number): number {
  while (at < end) {
    const code = bytes[at]!;
    if (code === 0x20 || code === 0x09) at++;
    else if (code === 0x0a || code === 0x0d) {
      plain = false;
      at++;
    } else break;
  }
  return at;
}

/** Scans one value (nested ones included) from `at`; the offset after it, or -1. */
function scanValue(bytes: Uint8Array, at: number, end: number): number {
  let depth = 0;
  value: for (;;) {
    at = skipWhitespace(bytes, at, end);
    if (at >= end) return -1;
    const code = bytes[at]!;
    if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      at = skipWhitespace(bytes, at + 1, end);
      if (at >= end) return -1;
      if (bytes[at] === (code === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        at++;
      } else {
        if (depth === stack.length) {
          const grown = new Uint8Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        stack[depth++] = code === OPEN_ARRAY ? 1 : 2;
        if (code === OPEN_ARRAY) continue value;
        at = scanKey(bytes, at, end);
        if (at < 0) return -1;
        continue value;
      }
    } else if (code === QUOTE) {
      at = scanString(bytes, at, end);
    } else if (code === MINUS || isDigit(code)) {
      at = scanNumber(bytes, at, end);
    } else if (code === 0x74) {
      at = literal(bytes, at, end, 'true');
    } else if (code === 0x66) {
      at = literal(bytes, at, end, 'false');
    } else if (code === 0x6e) {
      at = literal(bytes, at, end, 'null');
    } else {
      return -1;
    }
    if (at < 0) return -1;
    // A value ended: close what it ends, or go on to the next element or member.
    for (;;) {
      if (depth === 0) return at;
      at = skipWhitespace(bytes, at, end);
      if (at >= end) return -1;
      const next = bytes[at]!;
      const inArray = stack[depth - 1] === 1;
      if (next === COMMA) {
        at++;
        if (inArray) continue value;
        at = scanKey(bytes, skipWhitespace(bytes, at, end), end);
        if (at < 0) return -1;
        continue value;
      }
      if (next !== (inArray ? CLOSE_ARRAY : CLOSE_OBJECT)) return -1;
      depth--;
      at++;
    }
  }
}

/** A member's name and its colon, from `at` (after white space); the offset after the colon, or -1. */
function scanKey(bytes: Uint8Array, at: number, end: number): number {
  if (at >= end || bytes[at] !== QUOTE) return -1;
  at = scanString(bytes, at, end);
  if (at < 0) return -1;
  at = skipWhitespace(bytes, at, end);
  return at < end && bytes[at] === COLON ? at + 1 : -1;
}

function scanString(bytes: Uint8Array, at: number, end: number): number {
  at++; // the opening quote
  while (at < end) {
    const code = bytes[at]!;
    if (code === QUOTE) return at + 1;
    if (code < 0x20) return -1;
    if (code !== BACKSLASH) {
      if (code > 0x7f) plain = false;
      at++;
      continue;
    }
    if (at + 1 >= end) return -1;
    const escaped = bytes[at + 1]!;
    if (escaped === 0x75) {
      // \uXXXX: four hex digits (any code unit, lone surrogates too, as JSON.parse takes them)
      if (at + 6 > end) return -1;
      for (let k = at + 2; k < at + 6; k++) if (!isHex(bytes[k]!)) return -1;
      at += 6;
    } else if (escaped === QUOTE || escaped === BACKSLASH || escaped === 0x2f || escaped === 0x62 || escaped === 0x66 || escaped === 0x6e || escaped === 0x72 || escaped === 0x74) {
      at += 2;
    } else {
      return -1;
    }
  }
  return -1;
}

const isHex = (code: number): boolean => isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);

/** -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
function scanNumber(bytes: Uint8Array, at: number, end: number): number {
  if (bytes[at] === MINUS) at++;
  if (at >= end) return -1;
  if (bytes[at] === ZERO) at++;
  else if (isDigit(bytes[at]!)) while (at < end && isDigit(bytes[at]!)) at++;
  else return -1;
  if (at < end && bytes[at] === DOT) {
    at++;
    if (at >= end || !isDigit(bytes[at]!)) return -1;
    while (at < end && isDigit(bytes[at]!)) at++;
  }
  if (at < end && (bytes[at] === 0x65 || bytes[at] === 0x45)) {
    at++;
    if (at < end && (bytes[at] === PLUS || bytes[at] === MINUS)) at++;
    if (at >= end || !isDigit(bytes[at]!)) return -1;
    while (at < end && isDigit(bytes[at]!)) at++;
  }
  return at;
}

function literal(bytes: Uint8Array, at: number, end: number, word: string): number {
  if (at + word.length > end) return -1;
  for (let k = 1; k < word.length; k++) if (bytes[at + k] !== word.charCodeAt(k)) return -1;
  return at + word.length;
}
