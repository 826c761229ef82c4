// The real ovsdb-client against our server, side by side with the real ovsdb-server on the same
// scenario: every command's output must match (UUIDs masked where the servers pick them).
import fs from 'node:fs';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { TempDir, Server, startServer, SCHEMA, IMPLS, LineFollower, maskUuids, sortedLines, sortedJson, run, waitFor, OUR_SERVER, REAL_SERVER, type Impl } from './lib/harness.ts';

let tmp: TempDir;
const srv = {} as Record<Impl, Server>;

beforeAll(async () => {
  tmp = new TempDir();
  await Promise.all(IMPLS.map(async (impl) => (srv[impl] = await startServer(impl, tmp, [SCHEMA.vswitch, SCHEMA.nb]))));
});

afterAll(async () => {
  await Promise.all(IMPLS.map((impl) => srv[impl]?.stop()));
  tmp?.cleanup();
});

/** Run the same ovsdb-client command on both servers; returns [ours, real]. */
async function both(cmd: string, ...rest: string[]) {
  const [ours, real] = await Promise.all([srv.ours.client(cmd, ...rest), srv.real.client(cmd, ...rest)]);
  return { ours, real };
}

describe('ovsdb-client read-only commands', () => {
  it('list-dbs', async () => {
    const { ours, real } = await both('list-dbs');
    expect(ours).toEqual(real);
    expect(ours.stdout).toBe('OVN_Northbound\nOpen_vSwitch\n_Server\n');
  });

  it('get-schema equals the real server’s, for every database', async () => {
    for (const db of ['Open_vSwitch', 'OVN_Northbound', '_Server']) {
      const { ours, real } = await both('get-schema', db);
      expect(ours.code, db).toBe(0);
      expect(sortedJson(JSON.parse(ours.stdout)), db).toBe(sortedJson(JSON.parse(real.stdout)));
    }
  });

  it('get-schema-version and get-schema-cksum', async () => {
    for (const cmd of ['get-schema-version', 'get-schema-cksum']) {
      const { ours, real } = await both(cmd, 'Open_vSwitch');
      expect(ours, cmd).toEqual(real);
    }
    expect((await srv.ours.client('get-schema-version', 'Open_vSwitch')).stdout).toBe('8.3.1\n');
  });

  it('list-tables and list-columns (the C client prints in hash order: compare as sets)', async () => {
    for (const args of [['list-tables', 'Open_vSwitch'], ['list-tables', 'OVN_Northbound'], ['list-columns', 'Open_vSwitch', 'Bridge'], ['list-columns', 'OVN_Northbound']]) {
      const { ours, real } = await both(args[0], ...args.slice(1));
      expect(ours.code, args.join(' ')).toBe(0);
      expect(sortedLines(ours.stdout), args.join(' ')).toEqual(sortedLines(real.stdout));
    }
  });

  it('an unknown database fails the same way', async () => {
    const { ours, real } = await both('get-schema', 'Nope');
    expect(ours.code).toBe(1);
    expect(ours).toEqual(real);
  });
});

describe('ovsdb-client transact, query, dump', () => {
  it('transact inserts; query and dump show the same rows', async () => {
    const txn = JSON.stringify([
      'Open_vSwitch',
      { op: 'insert', table: 'Bridge', row: { name: 'br-t', external_ids: ['map', [['k', 'v']]] }, 'uuid-name': 'b' },
      { op: 'insert', table: 'Open_vSwitch', row: { bridges: ['named-uuid', 'b'] } },
      { op: 'comment', comment: 'from the interop test' },
    ]);
    const t = await both('transact', txn);
    expect(t.ours.code).toBe(0);
    expect(maskUuids(t.ours.stdout)).toBe(maskUuids(t.real.stdout));
    expect(maskUuids(t.ours.stdout)).toBe('[{"uuid":["uuid","<0>"]},{"uuid":["uuid","<1>"]},{}]\n');

    const q = await both('query', JSON.stringify(['Open_vSwitch', { op: 'select', table: 'Bridge', where: [['name', '==', 'br-t']], columns: ['name', 'external_ids', 'ports'] }]));
    expect(q.ours).toEqual(q.real);
    expect(q.ours.stdout).toBe('[{"rows":[{"external_ids":["map",[["k","v"]]],"name":"br-t","ports":["set",[]]}]}]\n');

    for (const args of [['dump', 'Open_vSwitch', 'Bridge', 'name', 'external_ids'], ['dump', 'Open_vSwitch'], ['--format=json', 'dump', 'Open_vSwitch', 'Bridge'], ['--format=csv', 'dump', 'Open_vSwitch', 'Open_vSwitch']]) {
      // Options go before the command.
      const opts = args.filter((a) => a.startsWith('--'));
      const [cmd, ...rest] = args.filter((a) => !a.startsWith('--'));
      const [ours, real] = await Promise.all(IMPLS.map((i) => run('ovsdb-client', [...opts, cmd, srv[i].remote, ...rest], { env: tmp.env })));
      expect(ours.code, args.join(' ')).toBe(0);
      expect(maskUuids(ours.stdout), args.join(' ')).toBe(maskUuids(real.stdout));
    }
  });

  it('errors inside a transaction are reported alike', async () => {
    const cases = [
      ['Open_vSwitch', { op: 'select', table: 'Nope', where: [] }],
      ['Open_vSwitch', { op: 'insert', table: 'Bridge', row: { name: 1 } }],
      ['Open_vSwitch', { op: 'insert', table: 'Bridge', row: { name: 'dup' } }, { op: 'insert', table: 'Bridge', row: { name: 'dup' } }],
      ['Open_vSwitch', { op: 'insert', table: 'Port', row: { name: 'orphan' } }],
      ['Open_vSwitch', { op: 'wait', table: 'Bridge', where: [], columns: ['name'], until: '==', rows: [], timeout: 0 }],
      ['Open_vSwitch', { op: 'abort' }],
      ['_Server', { op: 'insert', table: 'Database', row: { name: 'x' } }],
    ];
    for (const c of cases) {
      const t = await both('transact', JSON.stringify(c));
      expect(maskUuids(t.ours.stdout), JSON.stringify(c)).toBe(maskUuids(t.real.stdout));
      expect(t.ours.code).toBe(t.real.code);
    }
  });
});

describe('ovsdb-client monitors', () => {
  /**
   * Start `ovsdb-client <args>` on both servers, wait for `headerLines` (the initial contents), then apply
   * each change with ovs-vsctl on both and wait for the lines it should print; compare both outputs.
   */
  async function monitorBoth(args: string[], headerLines: number, changes: Array<[string[], number]>, norm: (s: string) => string = (x) => x): Promise<string[]> {
    const mons = {} as Record<Impl, LineFollower>;
    for (const impl of IMPLS) {
      const [cmd, ...rest] = args;
      mons[impl] = new LineFollower(tmp, 'ovsdb-client', [cmd, srv[impl].remote, ...rest]);
    }
    try {
      let expected = headerLines;
      await Promise.all(IMPLS.map((i) => mons[i].waitLines(expected, `${i} monitor start`)));
      for (const [ch, delta] of changes) {
        const out = await Promise.all(IMPLS.map((i) => srv[i].vsctl(...ch)));
        for (const o of out) expect(o.code, `${ch.join(' ')}: ${o.stderr}`).toBe(0);
        // One change at a time, so both outputs come in the same order.
        expected += delta;
        await Promise.all(IMPLS.map((i) => mons[i].waitLines(expected, `${i} after ${ch.join(' ')}`)));
      }
      expect(maskUuids(norm(mons.ours.lines.join('\n')))).toBe(maskUuids(norm(mons.real.lines.join('\n'))));
      expect(mons.ours.lines).toHaveLength(expected);
      return mons.ours.lines;
    } finally {
      await Promise.all(IMPLS.map((i) => mons[i].stop()));
    }
  }

  it('monitor prints initial rows, then insert / modify (old, new) / delete', async () => {
    const lines = await monitorBoth(
      ['monitor', 'Open_vSwitch', 'Bridge', 'name,external_ids'],
      3,
      [
        [['add-br', 'mon0', '--', 'set', 'Bridge', 'mon0', 'external_ids:a=b'], 4],
        [['set', 'Bridge', 'mon0', 'external_ids:a=c'], 5],
        [['del-br', 'mon0'], 4],
      ],
    );
    expect(maskUuids(lines.join('\n')).split('\n').slice(3, 7)).toEqual(['', 'row                                  action name external_ids', '------------------------------------ ------ ---- ------------', '<1> insert mon0 {a=b}']);
    expect(maskUuids(lines.join('\n')).split('\n').slice(7)).toEqual([
      '',
      'row                                  action name external_ids',
      '------------------------------------ ------ ---- ------------',
      '<1> old         {a=b}',
      '                                     new    mon0 {a=c}',
      '',
      'row                                  action name external_ids',
      '------------------------------------ ------ ---- ------------',
      '<1> delete mon0 {a=c}',
    ]);
  });

  it('monitor-cond with a condition sees only matching rows', async () => {
    // A matching row first: its initial line shows the monitor is installed.
    await Promise.all(IMPLS.map((i) => srv[i].vsctl('add-br', 'mc0')));
    const lines = await monitorBoth(
      ['monitor-cond', 'Open_vSwitch', '[["name","==","mc0"],["name","==","mc1"]]', 'Bridge', 'name,external_ids'],
      3,
      [
        [['add-br', 'other0'], 0],
        [['add-br', 'mc1'], 4],
        [['set', 'Bridge', 'mc0', 'external_ids:x=y'], 4],
        [['del-br', 'other0'], 0],
        [['del-br', 'mc1'], 4],
        [['del-br', 'mc0'], 4],
      ],
    );
    const masked = maskUuids(lines.join('\n')).split('\n');
    expect(masked.filter((l) => /^<\d+> (initial|insert|modify|delete)/.test(l)).map((l) => l.replace(/ +/g, ' ').trim())).toEqual([
      '<0> initial mc0',
      '<1> insert mc1',
      '<0> modify {x=y}',
      '<1> delete',
      '<0> delete',
    ]);
  });

  it('monitor-cond-since prints found/last_id, then every change with its transaction id', async () => {
    // The reference keeps no history for a standalone database and prints the all-zero id; we keep one
    // (issue 3), so our ids are real transaction UUIDs: compare everything but the ids.
    const zeroIds = (t: string) => t.replace(/last_id: \S+/g, 'last_id: ID');
    const cond = '[["name","==","br-t"],["name","==","mcs0"]]';
    const lines = await monitorBoth(['monitor-cond-since', 'Open_vSwitch', cond, 'Bridge', 'name'], 4, [
      [['add-br', 'mcs0'], 5],
      [['set', 'Bridge', 'mcs0', 'external_ids:q=r'], 0],
      [['del-br', 'mcs0'], 5],
    ], zeroIds);
    expect(lines[0]).toMatch(/^found: false, last_id: [0-9a-f-]{36}$/);
    const ids = lines.filter((l) => l.startsWith('last_id: ')).map((l) => l.slice(9));
    expect(ids).toHaveLength(2);
    expect(new Set([lines[0].slice(-36), ...ids]).size).toBe(3);
    expect(ids).not.toContain('00000000-0000-0000-0000-000000000000');

    // Reconnecting with the id seen after the insert: found, and only the missed delete is sent.
    const again = new LineFollower(tmp, 'ovsdb-client', ['monitor-cond-since', srv.ours.remote, 'Open_vSwitch', ids[0], cond, 'Bridge', 'name']);
    try {
      const got = await again.waitLines(4);
      expect(maskUuids(got.join('\n')).split('\n')).toEqual([
        `found: true, last_id: <0>`,
        'row                                  action name',
        '------------------------------------ ------ ----',
        '<1> delete',
      ]);
      expect(got[0]).toBe(`found: true, last_id: ${ids[1]}`);
    } finally {
      await again.stop();
    }
  });
});

describe('ovsdb-client backup and restore', () => {
  it('a backup of ours restores into the real server and vice versa', async () => {
    // Different contents each side first, so the restore visibly replaces them.
    await Promise.all([srv.ours.nbctl('ls-add', 'from-ours'), srv.real.nbctl('ls-add', 'from-real')]);
    const dump = () => Promise.all(IMPLS.map((i) => srv[i].client('dump', 'OVN_Northbound', 'Logical_Switch', 'name')));
    const [before, [bo, br]] = await Promise.all([dump(), Promise.all(IMPLS.map((i) => srv[i].client('backup', 'OVN_Northbound')))]);
    expect(bo.code).toBe(0);
    expect(br.code).toBe(0);
    // The backup is a standalone database file the real ovsdb-tool reads.
    const fo = tmp.file('ours-backup.db');
    const fr = tmp.file('real-backup.db');
    fs.writeFileSync(fo, bo.stdout);
    fs.writeFileSync(fr, br.stdout);
    expect((await run('ovsdb-tool', ['db-name', fo])).stdout).toBe('OVN_Northbound\n');
    const toReal = await run('ovsdb-client', ['restore', srv.real.remote, 'OVN_Northbound'], { env: tmp.env, stdinFile: fo });
    const toOurs = await run('ovsdb-client', ['restore', srv.ours.remote, 'OVN_Northbound'], { env: tmp.env, stdinFile: fr });
    expect(toOurs).toEqual({ code: 0, signal: null, stdout: '', stderr: '' });
    expect(toReal.code).toBe(0);
    const after = await dump();
    // Each now holds exactly what the other had (restore picks fresh row UUIDs, on the real server too).
    expect(after[0].stdout).toBe(before[1].stdout);
    expect(after[1].stdout).toBe(before[0].stdout);
    expect(after[0].stdout).toMatch(/\nfrom-real\n$/);
  });
});

describe('ovsdb-client lock, steal, unlock', () => {
  it('lock / second lock waits / steal / release, as the real server orders the notifications', async () => {
    const out = {} as Record<Impl, string[]>;
    for (const impl of IMPLS) {
      const a = new LineFollower(tmp, 'ovsdb-client', ['lock', srv[impl].remote, 'L1']);
      await a.waitLines(1);
      const w = new LineFollower(tmp, 'ovsdb-client', ['lock', srv[impl].remote, 'L1']);
      await w.waitLines(1);
      const s = new LineFollower(tmp, 'ovsdb-client', ['steal', srv[impl].remote, 'L1']);
      await s.waitLines(1);
      await a.waitLines(3); // stolen ["L1"]
      await s.stop(); // the stealer leaves: A (still queued) gets the lock back
      await a.waitLines(5);
      await w.stop(); // the waiter leaves: A is head already, yet is told "locked" again (reference quirk)
      await a.waitLines(7);
      await a.stop();
      out[impl] = [...a.lines, '--', ...w.lines, '--', ...s.lines];
    }
    expect(out.ours).toEqual(out.real);
    expect(out.ours).toEqual(['{"locked":true}', 'stolen', '["L1"]', 'locked', '["L1"]', 'locked', '["L1"]', '--', '{"locked":false}', '--', '{"locked":true}']);
  });

});

describe('ovsdb-client wait', () => {
  it('connected returns at once; added and removed follow add-db / remove-db', async () => {
    for (const impl of IMPLS) {
      const s = srv[impl];
      expect((await s.client('wait', 'Open_vSwitch', 'connected')).code).toBe(0);
      expect((await s.client('wait', 'Nope', 'removed')).code).toBe(0);
      const db = tmp.createDb(`${impl}-added.db`, SCHEMA.sb);
      const w = new LineFollower(tmp, 'ovsdb-client', ['wait', s.remote, 'OVN_Southbound', 'added']);
      // Only add the database once the client is connected and waiting.
      await waitFor(() => /connected/.test(w.stderr), `${impl} wait to connect`);
      expect(await s.appctl('ovsdb-server/add-db', db)).toMatchObject({ code: 0, stdout: '' });
      expect((await w.exited).code).toBe(0);
      const r = new LineFollower(tmp, 'ovsdb-client', ['wait', s.remote, 'OVN_Southbound', 'removed']);
      await waitFor(() => /connected/.test(r.stderr), `${impl} wait to connect`);
      expect(await s.appctl('ovsdb-server/remove-db', 'OVN_Southbound')).toMatchObject({ code: 0, stdout: '' });
      expect((await r.exited).code).toBe(0);
    }
  });
});

describe('ovsdb-client convert and needs-conversion', () => {
  it('online conversion of a database opened by a relative path, after --detach (chdir to /)', async () => {
    // The new schema: a version bump and one more column.
    const schema = JSON.parse(fs.readFileSync(SCHEMA.vswitch, 'utf8')) as { version: string; cksum?: string; tables: Record<string, { columns: Record<string, unknown> }> };
    schema.version = '8.4.0';
    delete schema.cksum;
    schema.tables.Bridge.columns.extra = { type: { key: 'string', min: 0, max: 1 } };
    const newSchema = tmp.file('new.ovsschema');
    fs.writeFileSync(newSchema, JSON.stringify(schema));
    const out = {} as Record<Impl, string[]>;
    for (const impl of IMPLS) {
      tmp.createDb(`conv-${impl}.db`, SCHEMA.vswitch);
      const sock = tmp.file(`conv-${impl}.sock`);
      const ctl = tmp.file(`conv-${impl}.ctl`);
      const pidfile = tmp.file(`conv-${impl}.pid`);
      const bin = impl === 'ours' ? OUR_SERVER : REAL_SERVER;
      const started = await run(bin, ['--detach', `--pidfile=${pidfile}`, `--remote=punix:${sock}`, `--unixctl=${ctl}`, '-vconsole:off', `conv-${impl}.db`], { env: tmp.env, cwd: tmp.dir });
      expect(started.code, started.stderr).toBe(0);
      const pid = Number.parseInt(fs.readFileSync(pidfile, 'utf8'), 10);
      tmp.trackPid(pid);
      try {
        const remote = `unix:${sock}`;
        const c = (...args: string[]) => run('ovsdb-client', args, { env: tmp.env }).then((o) => `${o.code} ${o.stdout}${o.stderr}`);
        expect((await run('ovs-vsctl', ['--no-wait', `--db=${remote}`, 'init', '--', 'add-br', 'b1'], { env: tmp.env })).code).toBe(0);
        const lines = [
          await c('needs-conversion', remote, newSchema),
          (await run('ovs-appctl', ['-t', ctl, 'ovsdb-server/compact'], { env: tmp.env })).stderr,
          await c('convert', remote, newSchema),
          await c('needs-conversion', remote, newSchema),
          await c('get-schema-version', remote, 'Open_vSwitch'),
          await c('dump', remote, 'Open_vSwitch', 'Bridge', 'name', 'extra'),
        ];
        out[impl] = lines;
      } finally {
        process.kill(pid, 'SIGTERM');
        await waitFor(() => !fs.existsSync(pidfile), `${impl} to exit`);
      }
      // The file on disk now carries the new schema.
      expect((await run('ovsdb-tool', ['db-version', tmp.file(`conv-${impl}.db`)])).stdout).toBe('8.4.0\n');
    }
    expect(out.ours).toEqual(out.real);
    expect(out.ours).toEqual(['0 yes\n', '', '0 ', '0 no\n', '0 8.4.0\n', '0 Bridge table\nextra name\n----- ----\n[]    b1\n']);
  });
});
