// Where the instances are when neither the options nor SPARKNGIN_URL say.
import { NoInstanceError } from './errors';
import type { ClientSettings } from './options';

export async function discoverUrls(_options: ClientSettings['discovery']): Promise<string[]> {
  throw new NoInstanceError('give urls (or SPARKNGIN_URL, comma-separated)');
}
