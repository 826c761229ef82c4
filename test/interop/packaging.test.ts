// The set-up a new user meets: version texts (the reference's first line, which OVS's scripts read, then
// ours), the `ovsdb-ts` front end (help, `run` and its refusals), the bin scripts before `npm ci`, a
// relocatable `make install` driven by the real ovsdb-client, and the systemd drop-ins of contrib/.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OUR_SERVER, REPO, SCHEMA, Server, TempDir, run, startServer, waitFor } from './lib/harness.ts';

const FRONT = path.join(REPO, 'bin/ovsdb-ts');
const VERSION = 'ovsdb-server (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n';
const TRY = "Try 'ovsdb-ts --help' (or 'ovsdb-ts COMMAND --help').\n";

let tmp: TempDir;
let servers: Server[] = [];
afterEach(async () => {
  for (const s of servers) await s.stop();
  servers = [];
  tmp?.cleanup();
});

function freePortHeld(): Promise<net.Server> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

describe('version texts', () => {
  it('--version: the reference line first, then ovsdb-ts and its version', async () => {
    expect(await run(OUR_SERVER, ['--version'])).toEqual({ code: 0, signal: null, stdout: VERSION, stderr: '' });
    expect(await run(FRONT, ['server', '-V'])).toEqual({ code: 0, signal: null, stdout: VERSION, stderr: '' });
    expect((await run(FRONT, ['appctl', '--version'])).stdout).toBe('ovs-appctl (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n');
    expect((await run(FRONT, ['tool', '--version'])).stdout).toBe('ovsdb-tool (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n');
    expect(await run(FRONT, ['--version'])).toEqual({ code: 0, signal: null, stdout: 'ovsdb-ts 0.1.0\n', stderr: '' });
  });

  it('ovs-appctl version: two lines; ovs-lib and ovn-lib read the version off the first', async () => {
    tmp = new TempDir();
    const s = await startServer('ours', tmp, [SCHEMA.vswitch]);
    servers.push(s);
    expect((await s.appctl('version')).stdout).toBe(VERSION);
    // What ovs-lib's stop_daemon and ovn-lib do before choosing `ovs-appctl exit`.
    const r = spawnSync('sh', ['-c', `ovs-appctl -T 1 -t ${s.ctl} version | awk 'NR==1{print $NF}'`], { encoding: 'utf8' });
    expect(r.stdout).toBe('3.1.0\n');
  });
});

describe('ovsdb-ts front end', () => {
  it('--help and run --help exit 0 and show the commands and options', async () => {
    const top = await run(FRONT, ['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^ovsdb-ts COMMAND \.\.\.\n/);
    for (const c of ['run', 'server [ARGS..]', 'appctl [ARGS..]', 'tool [ARGS..]']) expect(top.stdout).toContain(`  ovsdb-ts ${c} `);
    const runHelp = await run(FRONT, ['run', '--help']);
    expect(runHelp).toMatchObject({ code: 0, stderr: '' });
    expect(runHelp.stdout).toMatch(/^ovsdb-ts run\n/);
    expect(runHelp.stdout).toMatch(/--port +the TCP port \(on 127\.0\.0\.1\) +\[string\] \[default: "6640"\]/);
    expect(runHelp.stdout).toMatch(/--data +the directory for the database/);
    expect((await run(FRONT, ['help'])).stdout).toBe(top.stdout);
  });

  it('refuses a bad --port, an unknown command or option, with the reason and status 1', async () => {
    tmp = new TempDir();
    for (const bad of ['abc', '0', '70000', '66.5', '-1']) {
      expect(await run(FRONT, ['run', `--port=${bad}`], { cwd: tmp.dir })).toEqual({
        code: 1,
        signal: null,
        stdout: '',
        stderr: `ovsdb-ts: --port: "${bad}" is not a TCP port number (1 to 65535)\n${TRY}`,
      });
    }
    expect(await run(FRONT, ['run', '--port'], { cwd: tmp.dir })).toMatchObject({ code: 1, stderr: `ovsdb-ts: Not enough arguments following: port\n${TRY}` });
    expect(await run(FRONT, ['bogus'])).toMatchObject({ code: 1, stdout: '', stderr: `ovsdb-ts: Unknown command: bogus\n${TRY}` });
    expect(await run(FRONT, ['run', '--bogus'], { cwd: tmp.dir })).toMatchObject({ code: 1, stderr: `ovsdb-ts: Unknown argument: bogus\n${TRY}` });
    expect(await run(FRONT, [])).toMatchObject({ code: 1, stderr: `ovsdb-ts: no command given\n${TRY}` });
    expect(fs.existsSync(tmp.file('data'))).toBe(false); // nothing was created
  });

  it('run: refuses a TCP port in use before announcing anything', async () => {
    tmp = new TempDir();
    const holder = await freePortHeld();
    try {
      const port = (holder.address() as net.AddressInfo).port;
      expect(await run(FRONT, ['run', '--data', tmp.file('d'), '--port', String(port)])).toEqual({
        code: 1,
        signal: null,
        stdout: '',
        stderr: `ovsdb-ts run: 127.0.0.1:${port} is in use (choose another port with --port)\n`,
      });
      expect(fs.existsSync(tmp.file('d'))).toBe(false);
    } finally {
      holder.close();
    }
  });

  it('run: announces once it serves; a second run on the same directory is refused; SIGTERM stops it', async () => {
    tmp = new TempDir();
    const holder = await freePortHeld();
    const port = (holder.address() as net.AddressInfo).port;
    await new Promise((r) => holder.close(r));
    const data = tmp.file('d');
    const child = spawn(FRONT, ['run', '--data', data, '--port', String(port)], { cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    tmp.track(child);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', () => {});
    const exited = new Promise<{ code: number | null }>((resolve) => child.on('close', (code) => resolve({ code })));
    await waitFor(() => out.includes('try: ovsdb-client'), 'the banner');
    expect(out).toBe(
      `created ${data}/conf.db from /usr/share/openvswitch/vswitch.ovsschema\n` +
        `serving ${data}/conf.db\n` +
        `  unix socket: unix:${data}/db.sock\n` +
        `  TCP:         tcp:127.0.0.1:${port}\n` +
        `  control:     ovs-appctl -t ${data}/ovsdb-server.ctl list-commands   (or: ${FRONT} appctl -t ${data}/ovsdb-server.ctl list-commands)\n` +
        `try: ovsdb-client dump unix:${data}/db.sock\n`,
    );
    // Announced means serving, on both remotes.
    expect((await run('ovsdb-client', ['list-dbs', `unix:${data}/db.sock`])).stdout).toBe('Open_vSwitch\n_Server\n');
    expect((await run('ovsdb-client', ['list-dbs', `tcp:127.0.0.1:${port}`])).stdout).toBe('Open_vSwitch\n_Server\n');
    const pid = Number(fs.readFileSync(path.join(data, 'ovsdb-server.pid'), 'utf8'));
    tmp.trackPid(pid);
    expect(await run(FRONT, ['run', '--data', data, '--port', String(port)])).toEqual({
      code: 1,
      signal: null,
      stdout: '',
      stderr: `ovsdb-ts run: ${data}: already served by ovsdb-server pid ${pid} (stop it with: ovs-appctl -t ${data}/ovsdb-server.ctl exit)\n`,
    });
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 128 + 15 });
  });

  it('the bin scripts say what to run when the npm packages are not installed', async () => {
    tmp = new TempDir();
    const root = tmp.file('fresh');
    fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
    for (const b of ['ovsdb-server', 'ovsdb-ts']) fs.copyFileSync(path.join(REPO, 'bin', b), path.join(root, 'bin', b));
    fs.chmodSync(path.join(root, 'bin/ovsdb-server'), 0o755);
    fs.chmodSync(path.join(root, 'bin/ovsdb-ts'), 0o755);
    expect(await run(path.join(root, 'bin/ovsdb-server'), ['--version'])).toEqual({
      code: 1,
      signal: null,
      stdout: '',
      stderr: `ovsdb-server: ovsdb-ts's npm packages are not installed in ${root}: run 'make build' there (or 'npm ci')\n`,
    });
    expect(await run(path.join(root, 'bin/ovsdb-ts'), ['run'])).toEqual({
      code: 1,
      signal: null,
      stdout: '',
      stderr: `ovsdb-ts: the npm packages are not installed in ${root}: run 'make build' there (or 'npm ci')\n`,
    });
  });
});

describe('make install', () => {
  it('installs a relocatable tree under PREFIX; the installed ovsdb-server serves the real ovsdb-client', async () => {
    tmp = new TempDir();
    const prefix = tmp.file('prefix');
    // -o build: install what `make test` built already (rebuilding dist/ would race the other test files).
    const make = await run('make', ['-s', '-o', 'build', 'install', `PREFIX=${prefix}`], { cwd: REPO, timeoutMs: 120_000 });
    expect(make).toMatchObject({ code: 0 });
    expect(fs.readlinkSync(path.join(prefix, 'bin/ovsdb-server'))).toBe('../lib/ovsdb-ts/bin/ovsdb-server');
    expect(fs.readlinkSync(path.join(prefix, 'bin/ovsdb-ts'))).toBe('../lib/ovsdb-ts/bin/ovsdb-ts');
    const lib = path.join(prefix, 'lib/ovsdb-ts');
    expect(fs.readdirSync(lib).sort()).toEqual(['LICENSE', 'README.md', 'bin', 'dist', 'fixtures', 'node_modules', 'package-lock.json', 'package.json']);
    // Production packages only.
    expect(fs.existsSync(path.join(lib, 'node_modules/koffi'))).toBe(true);
    expect(fs.existsSync(path.join(lib, 'node_modules/vitest'))).toBe(false);

    // Moved elsewhere, it still runs: nothing in it names PREFIX.
    const moved = tmp.file('moved');
    fs.renameSync(prefix, moved);
    const bin = path.join(moved, 'bin/ovsdb-server');
    expect((await run(bin, ['--version'])).stdout).toBe(VERSION);
    const db = tmp.createDb('conf.db', SCHEMA.vswitch);
    const sock = tmp.file('inst.sock');
    const ctl = tmp.file('inst.ctl');
    const child = spawn(bin, [db, `--remote=punix:${sock}`, `--unixctl=${ctl}`, '-vconsole:off'], { cwd: tmp.dir, stdio: 'ignore' });
    tmp.track(child);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitFor(() => fs.existsSync(sock) && fs.existsSync(ctl), 'the installed server');
    const insert = await run('ovsdb-client', ['transact', `unix:${sock}`, '["Open_vSwitch",{"op":"insert","table":"Open_vSwitch","row":{}}]']);
    expect(insert.stdout).toMatch(/^\[\{"uuid":\["uuid","[0-9a-f-]{36}"\]\}\]\n$/);
    expect((await run('ovsdb-client', ['list-dbs', `unix:${sock}`])).stdout).toBe('Open_vSwitch\n_Server\n');
    expect((await run('ovs-appctl', ['-t', ctl, 'exit'])).code).toBe(0);
    expect(await exited).toBe(0);
    // The installed front end, too.
    expect((await run(path.join(moved, 'bin/ovsdb-ts'), ['tool', 'db-name', db])).stdout).toBe('Open_vSwitch\n');
  });
});

describe('contrib/systemd', () => {
  const units = ['ovn-ovsdb-server-nb', 'ovn-ovsdb-server-sb', 'ovsdb-server'];
  it('each drop-in puts ovsdb-ts first on PATH and verifies against the Debian unit it extends', async () => {
    tmp = new TempDir();
    for (const u of units) {
      const dropIn = fs.readFileSync(path.join(REPO, 'contrib/systemd', `${u}.service.d`, 'ovsdb-ts.conf'), 'utf8');
      expect(dropIn).toMatch(/^\[Service\]\nEnvironment=PATH=\/opt\/ovsdb-ts\/bin:\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin\n/m);
      fs.copyFileSync(`/lib/systemd/system/${u}.service`, tmp.file(`${u}.service`));
      fs.cpSync(path.join(REPO, 'contrib/systemd', `${u}.service.d`), tmp.file(`${u}.service.d`), { recursive: true });
    }
    for (const dep of ['ovn-central.service', 'openvswitch-switch.service']) fs.copyFileSync(`/lib/systemd/system/${dep}`, tmp.file(dep));
    const verify = await run('systemd-analyze', ['verify', ...units.map((u) => `${u}.service`)], {
      cwd: tmp.dir,
      env: { ...process.env, SYSTEMD_UNIT_PATH: `${tmp.dir}:` },
    });
    expect(verify).toMatchObject({ code: 0, stderr: '' });
  });
});
