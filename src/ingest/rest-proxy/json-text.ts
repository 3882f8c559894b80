// JSON values re-written compactly with their numbers exactly as the client wrote them. The REST
// Proxy's `json` embedded format stores each record's key and value as the JSON text Jackson writes
// for them: compact, no white space. Written here by JSON.stringify, which would print a number as a
// double (12345678901234567890 → 12345678901234567000, 1.50 → 1.5): with JSON.parse's source text
// (Node ≥ 21: the reviver's `context.source`, and JSON.rawJSON) every number keeps its digits. On
// Node 20 numbers are printed as JavaScript prints them (only the digits a double holds survive).

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const rawJSON = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;

const keepNumbers: Reviver = (_key, value, context) => (typeof value === 'number' && context?.source !== undefined && rawJSON ? rawJSON(context.source) : value);

/** JSON.parse, with every number kept as its source text where Node can (see the top). */
export function parseExact(text: string): unknown {
  return JSON.parse(text, keepNumbers as (key: string, value: unknown) => unknown);
}

/** A value from parseExact as compact JSON text. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value);
}

/** The source text of a JSON number from parseExact (its digits as written where Node keeps them), or undefined for any other value. */
export function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if ((JSON as { isRawJSON?: (v: unknown) => boolean }).isRawJSON?.(value)) return (value as { rawJSON: string }).rawJSON;
  return undefined;
}
