// The replication ovs-appctl commands, differentially: the same command sequence against the reference
// ovsdb-server and ovsdb-ts must print the same stdout/stderr and exit with the same codes.
import { describe, it, expect, afterEach } from 'vitest';
import { Lab, referenceStatus, waitFor, type Kind, type ServerProc } from './replication-harness.ts';

let lab: Lab;
afterEach(async () => lab?.cleanup());

type Step = [args: string[], expect?: { stdout?: string; code?: number }];

async function runSteps(kind: Kind, steps: Step[], extra: string[] = []): Promise<{ args: string[]; out: string }[]> {
  const db = lab.createDb(`${kind}.db`);
  const p = await lab.start(kind, kind, [db], extra);
  const outs: { args: string[]; out: string }[] = [];
  for (const [args] of steps) {
    const r = p.appctl(...args);
    outs.push({ args, out: `code=${r.code}\nstdout=${r.stdout}\nstderr=${r.stderr.replaceAll(p.ctl, 'CTL')}` });
  }
  await p.stop();
  return outs;
}

describe('replication commands match the reference', () => {
  it('role commands, probe interval and exclude-list parsing', async () => {
    lab = new Lab();
    const nowhere = `unix:${lab.file('nowhere.sock')}`;
    const steps: Step[] = [
      [['ovsdb-server/sync-status'], { stdout: 'state: active\n' }],
      [['ovsdb-server/get-active-ovsdb-server'], { stdout: '' }],
      [['ovsdb-server/connect-active-ovsdb-server'], { stdout: 'Unable to connect: active server is not specified.\n', code: 0 }],
      [['ovsdb-server/set-active-ovsdb-server']],
      [['ovsdb-server/set-active-ovsdb-server', nowhere], { stdout: '' }],
      [['ovsdb-server/get-active-ovsdb-server'], { stdout: `${nowhere}\n` }],
      [['ovsdb-server/set-active-ovsdb-server-probe-interval', 'abc'], { stdout: 'Invalid probe interval, integer value expected\n', code: 0 }],
      [['ovsdb-server/set-active-ovsdb-server-probe-interval', '12x']],
      [['ovsdb-server/set-active-ovsdb-server-probe-interval', '5000'], { stdout: '' }],
      [['ovsdb-server/set-active-ovsdb-server-probe-interval', '0'], { stdout: '' }],
      [['ovsdb-server/set-active-ovsdb-server-probe-interval']],
      [['ovsdb-server/get-sync-exclude-tables'], { stdout: '' }],
      [['ovsdb-server/set-sync-exclude-tables', 'Test']],
      [['ovsdb-server/get-sync-exclude-tables'], { stdout: 'Test:\n' }],
      [['ovsdb-server/set-sync-exclude-tables', 'Test:Root,bad']],
      [['ovsdb-server/get-sync-exclude-tables'], { stdout: 'Test:Root,bad:\n' }],
      [['ovsdb-server/set-sync-exclude-tables', ':x']],
      [['ovsdb-server/get-sync-exclude-tables'], { stdout: ':x:\n' }],
      [['ovsdb-server/set-sync-exclude-tables', 'a:b:c']],
      [['ovsdb-server/get-sync-exclude-tables'], { stdout: 'a:b:c\n' }],
      [['ovsdb-server/set-sync-exclude-tables', 'Test:Root,Test:Child Foo:Bar,Test:Root']],
      [['ovsdb-server/get-sync-exclude-tables'], { stdout: 'Foo:Bar,Test:Child,Test:Root\n' }],
      [['ovsdb-server/set-sync-exclude-tables', 'a', 'b']],
      [['ovsdb-server/sync-status'], { stdout: 'state: active\n' }],
      [['ovsdb-server/disconnect-active-ovsdb-server'], { stdout: '' }],
      [['ovsdb-server/sync-status'], { stdout: 'state: active\n' }],
    ];
    const ref = await runSteps('c', steps);
    const ours = await runSteps('ts', steps);
    expect(ours).toEqual(ref);
    for (let i = 0; i < steps.length; i++) {
      const want = steps[i][1];
      if (want?.stdout !== undefined) expect(ours[i].out).toContain(`stdout=${want.stdout}\nstderr=`);
      if (want?.code !== undefined) expect(ours[i].out.startsWith(`code=${want.code}\n`)).toBe(true);
    }
  });

  it('list-commands shows every replication command with the reference usage', async () => {
    lab = new Lab();
    const [ref] = await runSteps('c', [[['list-commands']]]);
    const [ours] = await runSteps('ts', [[['list-commands']]]);
    const pick = (s: string) => s.split('\n').filter((l) => /active-ovsdb|sync-/.test(l));
    expect(pick(ours.out)).toEqual(pick(ref.out));
    expect(pick(ours.out)).toEqual([
      '  ovsdb-server/connect-active-ovsdb-server ',
      '  ovsdb-server/disconnect-active-ovsdb-server ',
      '  ovsdb-server/get-active-ovsdb-server ',
      '  ovsdb-server/get-sync-exclude-tables ',
      '  ovsdb-server/set-active-ovsdb-server ',
      '  ovsdb-server/set-active-ovsdb-server-probe-interval ',
      '  ovsdb-server/set-sync-exclude-tables ',
      '  ovsdb-server/sync-status ',
    ]);
  });

  it('set-sync-exclude-tables without an argument clears the list (the reference crashes)', async () => {
    lab = new Lab();
    const [, r, g] = await runSteps('ts', [
      [['ovsdb-server/set-sync-exclude-tables', 'Test:Root']],
      [['ovsdb-server/set-sync-exclude-tables']],
      [['ovsdb-server/get-sync-exclude-tables']],
    ]);
    expect(r.out).toBe('code=0\nstdout=\nstderr=');
    expect(g.out).toBe('code=0\nstdout=\nstderr=');
  });

  it('a backup that cannot reach its active stays backup, says connecting, and keeps retrying', async () => {
    lab = new Lab();
    const nowhere = `unix:${lab.file('nowhere.sock')}`;
    const out: Record<Kind, string> = { c: '', ts: '' };
    for (const kind of ['c', 'ts'] as Kind[]) {
      const p: ServerProc = await lab.start(kind, kind, [lab.createDb(`${kind}.db`)], [`--sync-from=${nowhere}`]);
      await waitFor(() => /waiting 2 seconds before reconnect/.test(p.log()), 'a second retry');
      out[kind] = referenceStatus(p.appctl('ovsdb-server/sync-status').stdout);
      expect(p.log()).toContain(`${nowhere}: connection attempt failed (No such file or directory)`);
      await p.stop();
    }
    expect(out.ts).toBe(`state: backup\nconnecting: ${nowhere}\n`);
    expect(out.ts).toBe(out.c);
  });

  it('--active with --sync-from starts active but remembers the server', async () => {
    lab = new Lab();
    const nowhere = `unix:${lab.file('nowhere.sock')}`;
    const p = await lab.start('ts', 'ts', [lab.createDb('ts.db')], [`--sync-from=${nowhere}`, '--active']);
    expect(p.appctl('ovsdb-server/sync-status').stdout).toBe('state: active\n');
    expect(p.appctl('ovsdb-server/get-active-ovsdb-server').stdout).toBe(`${nowhere}\n`);
    expect(p.appctl('ovsdb-server/connect-active-ovsdb-server')).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(referenceStatus(p.appctl('ovsdb-server/sync-status').stdout)).toBe(`state: backup\nconnecting: ${nowhere}\n`);
  });
});
