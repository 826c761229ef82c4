// package-lock.json must let `npm ci` install on a fresh clone, on any platform: npm refuses a lock that
// lacks an entry for any optional dependency a locked package declares, including other platforms'
// native builds (an `npm install` over an existing node_modules has dropped those entries before).
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const lock = JSON.parse(fs.readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
  packages: Record<string, LockEntry>;
};
const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Where npm would find `dep` for the package at `from` (node_modules/a/node_modules/b → up the tree). */
function resolve(from: string, dep: string): string | null {
  let dir = from;
  for (;;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${dep}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === '') return null;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

describe('package-lock.json', () => {
  it('matches package.json', () => {
    const root = lock.packages['']!;
    expect([lock.name, lock.version]).toEqual([pkg.name, pkg.version]);
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect((root as { devDependencies?: unknown }).devDependencies).toEqual(pkg.devDependencies);
  });

  it('has an entry for every optional dependency of every locked package (all platforms)', () => {
    const missing: string[] = [];
    for (const [at, entry] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
        if (resolve(at, dep) === null) missing.push(`${at || '(root)'} → ${dep}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
