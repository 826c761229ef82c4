// Differential test: every case in fixtures/differential/*.json is run through the real ovsdb-server
// (must still give the recorded "expected") and through our engine (must give the same).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkExpectedShape,
  loadCaseFiles,
  loadEngine,
  normalize,
  RealServerRunner,
  realServerAvailable,
  runOurs,
  type Engine,
} from './harness.ts';
import * as path from 'node:path';

const caseFiles = loadCaseFiles();
const allCases = caseFiles.flatMap((cf) => cf.cases.map((c) => ({ ...c, label: `${path.basename(cf.file)}: ${c.name}` })));
const haveReal = realServerAvailable();
const engine: Engine | string = await loadEngine();

describe('differential cases: recorded expectations', () => {
  it('case names are unique and every case has a well-shaped recorded answer', () => {
    const seen = new Set<string>();
    const dups = allCases.filter((c) => (seen.has(c.name) ? true : (seen.add(c.name), false))).map((c) => c.name);
    expect(dups).toEqual([]);
    expect(allCases.flatMap((c) => checkExpectedShape(c))).toEqual([]);
    expect(allCases.length).toBeGreaterThanOrEqual(100);
  });
});

describe.skipIf(!haveReal)('differential cases: the real ovsdb-server still gives the recorded answer', () => {
  let runner: RealServerRunner;
  beforeAll(() => {
    runner = new RealServerRunner();
  });
  afterAll(() => runner?.close());
  for (const c of allCases) {
    it(c.label, async () => {
      expect(normalize(c, await runner.run(c))).toEqual(c.expected);
    });
  }
});

if (typeof engine === 'string') {
  describe('differential cases: ovsdb-ts engine', () => {
    it.skip(`skipped: ${engine}`, () => {});
  });
} else {
  const ours = engine;
  describe('differential cases: ovsdb-ts engine gives the real server\'s answer', () => {
    for (const c of allCases) {
      it(c.label, () => {
        expect(normalize(c, runOurs(ours, c))).toEqual(c.expected);
      });
    }
  });
}
