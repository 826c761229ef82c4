// OVN against our server: ovn-nbctl / ovn-sbctl (compared with the real ovsdb-server), then real
// ovn-northd daemons translating our NB into our SB, and their active/standby lock hand-over.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { TempDir, Server, startServer, SCHEMA, IMPLS, maskUuids, sortedLines, run, waitFor, type Impl, type Outcome } from './lib/harness.ts';

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.nb, SCHEMA.sb]))));
});

afterAll(async () => {
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

const mask = (o: Outcome): Outcome => ({ ...o, stdout: maskUuids(o.stdout), stderr: maskUuids(o.stderr) });

async function nbctl(...args: string[]): Promise<Outcome> {
  const [ours, real] = await Promise.all(IMPLS.map((i) => srv[i].nbctl(...args)));
  expect(mask(ours), args.join(' ')).toEqual(mask(real));
  return mask(ours);
}

async function sbctl(...args: string[]): Promise<Outcome> {
  const [ours, real] = await Promise.all(IMPLS.map((i) => srv[i].sbctl(...args)));
  expect(mask(ours), args.join(' ')).toEqual(mask(real));
  return mask(ours);
}

describe('ovn-nbctl and ovn-sbctl', () => {
  it('ls-add, lsp-add, lsp-set-addresses, lr-add, lrp-add, show, list', async () => {
    expect(await nbctl('init')).toMatchObject({ code: 0, stdout: '' });
    await nbctl('ls-add', 'sw0');
    await nbctl('lsp-add', 'sw0', 'sw0-p1');
    await nbctl('lsp-set-addresses', 'sw0-p1', '00:00:00:00:00:01 10.0.0.1');
    await nbctl('lr-add', 'lr0');
    await nbctl('lrp-add', 'lr0', 'lr0-sw0', '00:00:00:00:ff:01', '10.0.0.254/24');
    await nbctl('lsp-add', 'sw0', 'sw0-lr0', '--', 'lsp-set-type', 'sw0-lr0', 'router', '--', 'lsp-set-addresses', 'sw0-lr0', 'router', '--', 'lsp-set-options', 'sw0-lr0', 'router-port=lr0-sw0');
    expect((await nbctl('ls-list')).stdout).toBe('<0> (sw0)\n');
    expect((await nbctl('lsp-get-addresses', 'sw0-p1')).stdout).toBe('00:00:00:00:00:01 10.0.0.1\n');
    expect((await nbctl('lsp-get-type', 'sw0-lr0')).stdout).toBe('router\n');
    // show and list print ports in UUID order, which differs between the servers.
    const shows = await Promise.all(IMPLS.map((i) => srv[i].nbctl('show')));
    expect(sortedLines(shows[0].stdout.replace(/\b[0-9a-f-]{36}\b/g, 'U'))).toEqual(sortedLines(shows[1].stdout.replace(/\b[0-9a-f-]{36}\b/g, 'U')));
    expect(shows[0].stdout).toContain('        addresses: ["00:00:00:00:00:01 10.0.0.1"]\n');
    expect((await nbctl('--columns=name,addresses', 'list', 'Logical_Switch_Port', 'sw0-p1')).stdout).toBe('name                : sw0-p1\naddresses           : ["00:00:00:00:00:01 10.0.0.1"]\n');
    expect((await nbctl('lsp-add', 'sw0', 'sw0-p1')).code).toBe(1);
    expect((await nbctl('ls-del', 'nope')).code).toBe(1);
  });

  it('ovn-sbctl init, chassis-add, show', async () => {
    await sbctl('init');
    await sbctl('chassis-add', 'ch1', 'geneve', '192.168.0.1');
    expect((await sbctl('show')).stdout).toBe('Chassis ch1\n    Encap geneve\n        ip: "192.168.0.1"\n        options: {csum="true"}\n');
    await sbctl('chassis-del', 'ch1');
    expect((await sbctl('show')).stdout).toBe('');
  });
});

/** A real ovn-northd on our NB and SB, in the foreground; killed by pid at the end. */
function northd(name: string): { ctl: string; pid: number; exited: Promise<number | null> } {
  const ctl = tmp.file(`${name}.ctl`);
  const child = spawn(
    'ovn-northd',
    [`--ovnnb-db=${srv.ours.remote}`, `--ovnsb-db=${srv.ours.remote}`, `--pidfile=${tmp.file(`${name}.pid`)}`, `--log-file=${tmp.file(`${name}.log`)}`, `--unixctl=${ctl}`, '-vconsole:off'],
    { env: tmp.env, cwd: tmp.dir, stdio: 'ignore' },
  );
  tmp.track(child);
  return { ctl, pid: child.pid!, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

const status = async (ctl: string) => (await run('ovn-appctl', ['-t', ctl, 'status'], { env: tmp.env })).stdout;

describe('ovn-northd on our NB and SB', () => {
  it('turns logical switches and ports into Datapath_Binding, Port_Binding and Logical_Flow rows', async () => {
    const a = northd('northd-a');
    try {
      await waitFor(async () => (await status(a.ctl)) === 'Status: active\n', 'northd-a to become active');
      const sb = (...args: string[]) => srv.ours.sbctl(...args).then((o) => o.stdout);
      await waitFor(async () => (await sb('--bare', '--columns=logical_port', 'list', 'Port_Binding')).split('\n').filter(Boolean).length === 3, 'Port_Binding rows');
      expect(sortedLines(await sb('--bare', '--columns=logical_port', 'list', 'Port_Binding'))).toEqual(['lr0-sw0', 'sw0-lr0', 'sw0-p1']);
      expect(sortedLines(await sb('--bare', '--columns=external_ids', 'list', 'Datapath_Binding')).map((l) => l.replace(/[0-9a-f-]{36}/, 'U'))).toEqual([
        'logical-router=U name=lr0',
        'logical-switch=U name=sw0',
      ]);
      expect(await sb('--bare', '--columns=mac', 'find', 'Port_Binding', 'logical_port=sw0-p1')).toBe('00:00:00:00:00:01 10.0.0.1\n');
      const flows = (await sb('--bare', '--columns=_uuid', 'list', 'Logical_Flow')).split('\n').filter(Boolean);
      expect(flows.length).toBeGreaterThan(50);
      const lflows = await sb('lflow-list', 'sw0');
      expect(lflows).toContain('Datapath: "sw0"');
      expect(lflows).toContain('outport = "sw0-p1"');

      // A change in NB flows through: a new port appears in SB; nb_cfg is acknowledged.
      expect((await srv.ours.nbctl('lsp-add', 'sw0', 'sw0-p2')).code).toBe(0);
      await waitFor(async () => (await sb('--bare', '--columns=logical_port', 'find', 'Port_Binding', 'logical_port=sw0-p2')) === 'sw0-p2\n', 'sw0-p2 binding');
      const sync = await run('ovn-nbctl', ['--timeout=20', `--db=${srv.ours.remote}`, '--wait=sb', 'sync'], { env: tmp.env });
      expect(sync.code).toBe(0);
      expect((await srv.ours.nbctl('lsp-del', 'sw0-p2')).code).toBe(0);
      await waitFor(async () => (await sb('--bare', '--columns=logical_port', 'find', 'Port_Binding', 'logical_port=sw0-p2')) === '', 'sw0-p2 binding removed');
    } finally {
      process.kill(a.pid, 'SIGTERM');
      await a.exited;
    }
  });

  it('two northd: one holds the lock, the other takes over when it exits', async () => {
    const a = northd('northd-1');
    await waitFor(async () => (await status(a.ctl)) === 'Status: active\n', 'northd-1 active');
    const b = northd('northd-2');
    try {
      // The second one connects, asks for the lock, and waits.
      await waitFor(async () => (await status(b.ctl)) === 'Status: standby\n', 'northd-2 standby');
      expect(await status(a.ctl)).toBe('Status: active\n');
      process.kill(a.pid, 'SIGTERM');
      await a.exited;
      await waitFor(async () => (await status(b.ctl)) === 'Status: active\n', 'northd-2 to take over');
      // And it does the work: a new switch gets its datapath.
      expect((await srv.ours.nbctl('ls-add', 'sw-late')).code).toBe(0);
      await waitFor(async () => (await srv.ours.sbctl('--bare', '--columns=external_ids', 'list', 'Datapath_Binding')).stdout.includes('name=sw-late'), 'sw-late datapath');
    } finally {
      for (const d of [a, b]) {
        try {
          process.kill(d.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      await Promise.all([a.exited, b.exited]);
    }
  });
});
