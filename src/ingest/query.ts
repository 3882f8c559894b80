// The query of a request URL, decoded strictly. URLSearchParams is lenient: a malformed escape (`%zz`)
// stays as it is and bytes that are not UTF-8 (`%ff`) become U+FFFD, so `key=%ff` and `key=%fe`
// would both be stored as the same key "\uFFFD" — a silent change of the data. Here every escape
// must be well-formed and the bytes they spell valid UTF-8 (decodeURIComponent enforces both), or the
// request is refused. Raw bytes outside ASCII never get this far: Node's parser refuses them (400).
import { badRequest } from './respond';

/**
 * Parameter → value; a parameter given twice keeps its first value (as URLSearchParams.get does).
 * Every name and value is decoded, repeats and parameters no route reads included: a malformed query
 * is bad input wherever it is malformed.
 */
export type Query = ReadonlyMap<string, string> | undefined;

/** `a=1&b=x+y&c` → a: '1', b: 'x y', c: ''. */
export function parseQuery(search: string): Query {
  if (search === '') return undefined;
  const query = new Map<string, string>();
  for (const part of search.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const name = decode(equals === -1 ? part : part.slice(0, equals), 'a parameter name');
    const value = equals === -1 ? '' : decode(part.slice(equals + 1), `the parameter '${name.slice(0, 40)}'`);
    if (!query.has(name)) query.set(name, value);
  }
  return query;
}

function decode(text: string, what: string): string {
  if (text.indexOf('%') === -1 && text.indexOf('+') === -1) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw badRequest('INVALID_QUERY', `${what} in the query is not valid percent-encoded UTF-8`);
  }
}
