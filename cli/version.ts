/** huddle's version: set by the bundler (scripts/build-cli.mjs), else read from package.json. */
import fs from 'node:fs';
import path from 'node:path';

declare const HUDDLE_VERSION: string | undefined;

function fromPackage(): string {
  // cli/version.ts run from source (tests) is one folder below package.json.
  for (const up of ['..', path.join('..', '..')]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'huddle' && pkg.version) return pkg.version;
    } catch {
      /* not here */
    }
  }
  return 'unknown';
}

export const VERSION: string = typeof HUDDLE_VERSION === 'string' ? HUDDLE_VERSION : fromPackage();
