// Records the real ovsdb-server's normalized answers into the case files' "expected" members.
//   npx tsx test/differential/record.ts [--check] [case-file.json ...]
// --check only reports cases whose live answer differs from the recorded one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringifyJson } from './jsontext.ts';
import { checkExpectedShape, formatCaseFile, loadCaseFiles, normalize, RealServerRunner } from './harness.ts';

const args = process.argv.slice(2);
const check = args.includes('--check');
const files = args.filter((a) => !a.startsWith('--'));
const runner = new RealServerRunner();
let changed = 0;
let total = 0;
const names = new Set<string>();
const started = Date.now();
try {
  for (const cf of loadCaseFiles(files.length ? files : undefined)) {
    for (const c of cf.cases) {
      total++;
      if (names.has(c.name)) console.error(`duplicate case name: ${c.name}`);
      names.add(c.name);
      let got;
      try {
        got = normalize(c, await runner.run(c));
      } catch (e) {
        console.error(`FAILED: ${path.basename(cf.file)}: ${c.name}: ${String(e)}`);
        process.exitCode = 1;
        continue;
      }
      const before = c.expected ? stringifyJson(c.expected, true) : '';
      if (before !== stringifyJson(got, true)) {
        changed++;
        console.log(`${check ? 'DIFFERS' : 'recorded'}: ${path.basename(cf.file)}: ${c.name}`);
        if (check) console.log(`  recorded: ${before}\n  live:     ${stringifyJson(got, true)}`);
      }
      if (!check) c.expected = got;
      for (const p of checkExpectedShape({ ...c, expected: got })) console.error(`shape: ${p}`);
    }
    if (!check) fs.writeFileSync(cf.file, formatCaseFile(cf.cases));
  }
} finally {
  runner.close();
}
console.log(`${total} cases, ${changed} ${check ? 'differ' : 'updated'}, ${Date.now() - started} ms`);
if (check && changed) process.exitCode = 1;
