// What the documents state is what the code and the repository have. The defaults: every
// `**key** (default *value*)` of the man page and every `key: value` line of the shipped config
// template, read with the daemon's own config loader, gives what defaultConfig() gives. (The dist
// tests check, on the built executable, that the two documents name every key and that the template
// is valid.) The README's account of `npm test` counts the Debian packages it installs, and every
// relative link of the README and docs/ leads to a file of the repository.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { renderConfig } from '../../packaging/render';
import { leafKeys, loadConfig } from '../../src/config/load';
import { documentedKey, SHARED_SINK_KEYS, SINK_KINDS } from '../../src/sinks/kinds';
import { tempDir } from './spool-helpers';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The value of dotted `key` in a loaded config. */
const valueAt = (config: unknown, key: string): unknown => key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);

const DEFAULTS = loadConfig();

/** `(default: …)` in words, for settings whose default is no literal. */
const PROSE: Record<string, string> = { none: '', empty: '', "the machine's host name": hostname() };

/** `**key** (default *value*)` and `**key** (default: words)` entries of the man page. */
function manDefaults(): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of read('man/sparkngin.8.md').matchAll(/\*\*([A-Za-z.]+)\*\* \(default(?: \*((?:\\\*|[^*])+)\*|: ([^)]+))\)/g)) {
    const [, key, literal, words] = match;
    found.set(key!, literal !== undefined ? literal.replaceAll('\\*', '*') : PROSE[words!] ?? `<unknown words: ${words}>`);
  }
  return found;
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('documented defaults', () => {
  it('the man page gives a default for every setting, and it is the real one', () => {
    const documented = manDefaults();
    expect(leafKeys().filter((key) => !documented.has(documentedKey(key))), 'settings without "(default …)" in man/sparkngin.8.md').toEqual([]);
    // A setting every sink kind shares is given once as sinks.NAME.<key>: its default must be every kind's.
    const keys = leafKeys().filter((key) => key !== 'host');
    const wrong = keys
      .filter((key) => documented.has(documentedKey(key)))
      .map((key) => {
        const text = documented.get(documentedKey(key))!;
        return { key, documented: text, effective: valueAt(loadConfig({ overrides: new Map([[key, text]]) }), key), real: valueAt(DEFAULTS, key) };
      })
      .filter(({ effective, real }) => JSON.stringify(effective) !== JSON.stringify(real));
    expect(wrong, 'man/sparkngin.8.md states a default the code does not have').toEqual([]);
    expect([...documented.keys()].filter((key) => !key.startsWith('sinks.NAME.') && key !== 'host' && !keys.includes(key)), 'man/sparkngin.8.md documents settings that do not exist').toEqual([]);
    expect(documented.get('host')).toBe(DEFAULTS.host);
  });

  it('documents every sink kind: each setting of its schema, the shared ones once for all kinds', () => {
    const documented = manDefaults();
    for (const kind of SINK_KINDS) {
      const schema = leafKeys(kind.defaults() as unknown as Record<string, unknown>, `sinks.${kind.kind}.`, { sinks: { [kind.kind]: { kind: kind.kind } } });
      expect(schema.filter((key) => !documented.has(documentedKey(key))), `sinks of kind ${kind.kind} without "(default …)" in man/sparkngin.8.md`).toEqual([]);
    }
    for (const key of SHARED_SINK_KEYS) {
      const defaults = SINK_KINDS.map((kind) => JSON.stringify(valueAt(kind.defaults(), key)));
      expect(new Set(defaults).size, `sinks.NAME.${key} is documented once, so every kind must have the same default`).toBe(1);
    }
  });

  it('the shipped config template, every commented setting turned on, is exactly the defaults', async () => {
    const temp = await tempDir('sparkngin-docs-');
    cleanups.push(temp.remove);
    // '#key: value' and '#  key: value' are settings; '# Text' is prose (as the dist test reads it).
    const text = renderConfig(read('packaging/assets/sparkngin.yaml'), 'tarball').replace(/^#( *[A-Za-z]+:)/gm, '$1');
    const file = join(temp.dir, 'all.yaml');
    writeFileSync(file, text);
    const loaded = loadConfig({ file });
    // `host` shows an example name: its default is the machine's own.
    const wrong = leafKeys()
      .filter((key) => key !== 'host')
      .filter((key) => JSON.stringify(valueAt(loaded, key)) !== JSON.stringify(valueAt(DEFAULTS, key)))
      .map((key) => ({ key, template: valueAt(loaded, key), real: valueAt(DEFAULTS, key) }));
    expect(wrong, 'packaging/assets/sparkngin.yaml states a default the code does not have').toEqual([]);
  });
});

describe('README and docs/', () => {
  it('the README says how many Debian packages npm test installs: as many as scripts/deps/apt*.txt name', () => {
    const lists = readdirSync(join(ROOT, 'scripts/deps')).filter((name) => /^apt.*\.txt$/.test(name));
    const names = new Set(lists.flatMap((list) => read(`scripts/deps/${list}`).split('\n').flatMap((line) => line.replace(/#.*/, '').split(/\s+/).filter(Boolean))));
    const stated = /installs (\d+) Debian packages\*\*/.exec(read('README.md'));
    expect(stated, 'README.md: "**It installs N Debian packages**"').not.toBeNull();
    expect(Number(stated![1]), 'README.md states another number of Debian packages than scripts/deps/apt*.txt name').toBe(names.size);
  });

  it('every relative link of README.md and docs/*.md leads to a file inside the repository', () => {
    const documents = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
    const broken = documents.flatMap((document) =>
      [...read(document).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((match) => match[1]!)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => {
          const path = resolve(ROOT, dirname(document), target);
          return relative(ROOT, path).startsWith('..') || !existsSync(path);
        })
        .map((target) => `${document}: ${target}`),
    );
    expect(broken).toEqual([]);
  });
});
