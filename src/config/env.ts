// SPARKNGIN_* variables that set nothing. A typo (SPARKNGIN_LISTEN_PORTT) would otherwise be ignored
// without a word while the operator believes the setting applied: `start` logs a warning per
// variable and `config check` prints them. Warnings, not errors: a stray variable in a service's
// environment must not keep the daemon from starting.
import { envName, leafKeys } from './load';
import { nearest } from './nearest';

const PREFIX = 'SPARKNGIN_';

/**
 * Variables of the project's build, test and install scripts (packaging/, scripts/, test/peers/,
 * the repository's setup.sh), and of the client (`sparkngin send`, the client library): not
 * settings, but often exported in a developer's shell.
 */
const TOOL_VARIABLES = new Set([
  'SPARKNGIN_URL',
  'SPARKNGIN_TOKEN',
  'SPARKNGIN_CACHE',
  'SPARKNGIN_COMMIT',
  'SPARKNGIN_VERSION',
  'SPARKNGIN_ROOT',
  'SPARKNGIN_ARCH',
  'SPARKNGIN_OS_RELEASE',
  'SPARKNGIN_REPO_URL',
  'SPARKNGIN_APT_URL',
  'SPARKNGIN_GPG_KEY_FILE',
  'SPARKNGIN_GPG_PRIVATE_KEY',
  'SPARKNGIN_GPG_PASSPHRASE',
  'SPARKNGIN_KAFKA_VERSION',
  'SPARKNGIN_KAFKA_JVM_OPTS',
  'SPARKNGIN_KAFKA_CDS',
  'SPARKNGIN_JAVA',
  // `sparkngin status|top|check` (src/cli/ops-client.ts): the ops token, kept out of the command line.
  'SPARKNGIN_OPS_TOKEN',
]);

export interface UnknownEnvVariable {
  /** The variable's name (never its value: it may be a secret). */
  variable: string;
  /** The setting variable it most plausibly meant, if one is close. */
  closest?: string;
}

/** The SPARKNGIN_* variables of `env` that are neither a setting nor a known tool variable, sorted. */
export function unknownEnvVariables(env: NodeJS.ProcessEnv): UnknownEnvVariable[] {
  const settings = leafKeys().map(envName);
  const known = new Set(settings);
  const bare = settings.map((name) => name.slice(PREFIX.length));
  return Object.keys(env)
    .filter((name) => name.toUpperCase().startsWith(PREFIX) && !known.has(name) && !TOOL_VARIABLES.has(name) && env[name] !== undefined)
    .sort()
    .map((variable) => {
      const guess = nearest(variable.slice(PREFIX.length), bare, '_');
      return guess === undefined ? { variable } : { variable, closest: PREFIX + guess };
    });
}

/** One line for a person: `SPARKNGIN_X is not a setting (did you mean SPARKNGIN_Y?); ignored`. */
export function describeUnknownEnv({ variable, closest }: UnknownEnvVariable): string {
  const hint = closest === undefined ? "see 'sparkngin config keys'" : `did you mean ${closest}?`;
  return `environment variable ${variable} is not a setting (${hint}); it is ignored`;
}
