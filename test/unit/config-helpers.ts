// Shared by the config tests.
import { expect } from 'vitest';
import { ConfigError } from '../../src/errors';

/** The problems of the ConfigError that `load` throws; fails the test if it throws none or another. */
export function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}
