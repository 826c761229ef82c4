import { describe, it, expect } from 'vitest';
import { parseServerArgs, usageText, defaultDatabase, resolveUnixctlPath, type ServerOptions } from '../../cli/options.ts';

const env = { OVS_RUNDIR: '/run/x', OVS_LOGDIR: '/log/x', OVS_DBDIR: '/db/x' };

function opts(argv: string[], e: NodeJS.ProcessEnv = env): ServerOptions {
  const r = parseServerArgs(argv, e);
  if (r.kind !== 'options') throw new Error(`unexpected exit: ${r.stderr}`);
  return r.options;
}

function failure(argv: string[]): { code: number; stderr: string } {
  const r = parseServerArgs(argv, env);
  if (r.kind !== 'exit') throw new Error('expected an exit');
  return { code: r.code, stderr: r.stderr };
}

describe('getopt_long compatible parsing', () => {
  it('permutes options after positionals (the OVS tests rely on it)', () => {
    const o = opts(['--remote=punix:socket', 'db', '--run=sh txnfile']);
    expect(o.databases).toEqual(['db']);
    expect(o.remotes).toEqual(['punix:socket']);
    expect(o.run).toBe('sh txnfile');
  });

  it('accepts --opt value and --opt=value for required arguments, and repeats --remote', () => {
    const o = opts(['--remote', 'ptcp:0:127.0.0.1', '--remote=punix:a', '--sync-from', 'tcp:1.2.3.4:6640', 'a.db', 'b.db']);
    expect(o.remotes).toEqual(['ptcp:0:127.0.0.1', 'punix:a']);
    expect(o.syncFrom).toBe('tcp:1.2.3.4:6640');
    expect(o.databases).toEqual(['a.db', 'b.db']);
  });

  it('takes optional arguments only with = (a following word is a positional)', () => {
    const o = opts(['--pidfile', 'db.db', '--log-file']);
    expect(o.pidfile).toBe('/run/x/ovsdb-server.pid');
    expect(o.databases).toEqual(['db.db']);
    expect(o.logFile).toBe('/log/x/ovsdb-server.log');
    expect(opts(['--pidfile=my.pid']).pidfile).toBe('/run/x/my.pid');
    expect(opts(['--pidfile=/abs/p.pid']).pidfile).toBe('/abs/p.pid');
  });

  it('expands unique prefixes', () => {
    const o = opts(['--det', '--mon', '--no-c', '--ov', '--pid', '--disable', '--act', '--sync-f=unix:x']);
    expect([o.detach, o.monitor, o.noChdir, o.overwritePidfile, o.disableFileColumnDiff, o.active]).toEqual([
      true, true, true, true, true, true,
    ]);
    expect(o.pidfile).toBe('/run/x/ovsdb-server.pid');
    expect(o.syncFrom).toBe('unix:x');
  });

  it('does not treat --no-chdir as a negation', () => {
    const o = opts(['--no-chdir', '--no-dbs', '--no-self-confinement']);
    expect(o.noChdir).toBe(true);
    expect(o.noDbs).toBe(true);
    expect(o.noSelfConfinement).toBe(true);
    expect(o.databases).toEqual([]);
  });

  it('handles -v with attached argument and short SSL options', () => {
    const o = opts(['-vconsole:off', '-v', '--verbose=jsonrpc:file:dbg', '-pkey.pem', '-c', 'cert.pem', '-Cnone']);
    expect(o.verbose).toEqual(['console:off', '', 'jsonrpc:file:dbg']);
    expect(o.ssl.privateKey).toBe('key.pem');
    expect(o.ssl.certificate).toBe('cert.pem');
    expect(o.ssl.caCert).toBe('none');
  });

  it('accepts db: forms for every SSL option, as ovn-ctl passes them', () => {
    const o = opts([
      '--private-key=db:OVN_Northbound,SSL,private_key',
      '--certificate=db:OVN_Northbound,SSL,certificate',
      '--ca-cert=db:OVN_Northbound,SSL,ca_cert',
      '--ssl-protocols=db:OVN_Northbound,SSL,ssl_protocols',
      '--ssl-ciphers=db:OVN_Northbound,SSL,ssl_ciphers',
      '--bootstrap-ca-cert=b', '--peer-ca-cert=p',
    ]);
    expect(o.ssl).toEqual({
      privateKey: 'db:OVN_Northbound,SSL,private_key',
      certificate: 'db:OVN_Northbound,SSL,certificate',
      caCert: 'db:OVN_Northbound,SSL,ca_cert',
      bootstrapCaCert: 'b',
      peerCaCert: 'p',
      sslProtocols: 'db:OVN_Northbound,SSL,ssl_protocols',
      sslCiphers: 'db:OVN_Northbound,SSL,ssl_ciphers',
    });
  });

  it('keeps -v and --log-file in command-line order', () => {
    expect(opts(['-vconsole:off', '--log-file=x.log', '-vfile:info']).logging).toEqual([
      { kind: 'verbose', spec: 'console:off' },
      { kind: 'log-file', file: 'x.log' },
      { kind: 'verbose', spec: 'file:info' },
    ]);
  });

  it('stops at --', () => {
    expect(opts(['--', '--remote=x', '-v']).databases).toEqual(['--remote=x', '-v']);
  });

  it('parses the remaining options', () => {
    const o = opts([
      '--unixctl=ctl', '--user=ovs:ovs', '--syslog-method=udp:127.0.0.1:514', '--syslog-target=127.0.0.1:514',
      '--sync-exclude-tables=DB:T1,DB:T2', '--record=dir', '--replay', '--storage=lmdb', 'x.db',
    ]);
    expect(o.unixctl).toBe('ctl');
    expect(o.user).toBe('ovs:ovs');
    expect(o.syslogMethod).toBe('udp:127.0.0.1:514');
    expect(o.syslogTarget).toBe('127.0.0.1:514');
    expect(o.syncExcludeTables).toBe('DB:T1,DB:T2');
    expect(o.record).toBe('dir');
    expect(o.replay).toBe('');
    expect(o.storage).toBe('lmdb');
    expect(opts([]).storage).toBe('file');
  });
});

describe('errors, exactly as glibc getopt prints them', () => {
  it.each([
    [['--bogus'], "ovsdb-server: unrecognized option '--bogus'\n"],
    [['--bogus=1'], "ovsdb-server: unrecognized option '--bogus=1'\n"],
    [['db', '--remote'], "ovsdb-server: option '--remote' requires an argument\n"],
    [['--b'], "ovsdb-server: option '--bootstrap-ca-cert' requires an argument\n"],
    [['--no-chdir=1'], "ovsdb-server: option '--no-chdir' doesn't allow an argument\n"],
    [['--help=3'], "ovsdb-server: option '--help' doesn't allow an argument\n"],
    [['-x'], "ovsdb-server: invalid option -- 'x'\n"],
    [['-p'], "ovsdb-server: option requires an argument -- 'p'\n"],
    [['--c'], "ovsdb-server: option '--c' is ambiguous; possibilities: '--certificate' '--ca-cert'\n"],
    [['--d'], "ovsdb-server: option '--d' is ambiguous; possibilities: '--detach' '--disable-file-column-diff'\n"],
    [['--n'], "ovsdb-server: option '--n' is ambiguous; possibilities: '--no-self-confinement' '--no-chdir' '--no-dbs'\n"],
    [['--p'], "ovsdb-server: option '--p' is ambiguous; possibilities: '--pidfile' '--peer-ca-cert' '--private-key'\n"],
    [['--r'], "ovsdb-server: option '--r' is ambiguous; possibilities: '--remote' '--run' '--record' '--replay'\n"],
    [['--u'], "ovsdb-server: option '--u' is ambiguous; possibilities: '--unixctl' '--user'\n"],
    [['--v'], "ovsdb-server: option '--v' is ambiguous; possibilities: '--version' '--verbose'\n"],
    [['-vbogus'], 'ovsdb-server: processing "bogus": no destination, level, or module "bogus"\n'],
    [['--storage=x'], 'ovsdb-server: --storage: unknown storage type "x" (use file or lmdb)\n'],
  ])('%j', (argv, stderr) => {
    expect(failure(argv)).toEqual({ code: 1, stderr });
  });

  it('processes options in order: -h before a later bad option, a bad option before a later -h', () => {
    const help = parseServerArgs(['-hx'], env);
    expect(help.kind === 'exit' && help.code).toBe(0);
    expect(failure(['--bogus', '--help'])).toEqual({ code: 1, stderr: "ovsdb-server: unrecognized option '--bogus'\n" });
  });
});

describe('help, version and defaults', () => {
  it('-V / --version', () => {
    for (const a of ['-V', '--version', '--vers']) {
      expect(parseServerArgs([a], env)).toEqual({
        kind: 'exit', code: 0, stdout: 'ovsdb-server (Open vSwitch) 3.1.0\novsdb-ts 0.1.0\n', stderr: '',
      });
    }
  });

  it('--help mentions every option ovn-ctl and users look for', () => {
    const r = parseServerArgs(['--help'], env);
    expect(r.kind).toBe('exit');
    if (r.kind !== 'exit') return;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(usageText(env));
    for (const name of [
      '--disable-file-column-diff', '--sync-from', '--sync-exclude-tables', '--active', '--remote', '--unixctl',
      '--pidfile', '--detach', '--monitor', '--no-chdir', '--run', '--log-file', '--verbose', '--private-key',
      '--certificate', '--ca-cert', '--bootstrap-ca-cert', '--ssl-protocols', '--ssl-ciphers', '--user',
      '--overwrite-pidfile', '--syslog-method', '--syslog-target', '--record', '--replay', '--help', '--version',
    ]) {
      expect(r.stdout).toContain(name);
    }
    expect(r.stdout).toContain('/run/x/ovsdb-server.pid');
    expect(r.stdout).toContain('/log/x/ovsdb-server.log');
  });

  it('default database', () => {
    expect(defaultDatabase({ OVS_DBDIR: '/d' })).toBe('/d/conf.db');
    expect(defaultDatabase({ OVS_SYSCONFDIR: '/s' })).toBe('/s/openvswitch/conf.db');
    expect(defaultDatabase({})).toBe('/etc/openvswitch/conf.db');
    expect(opts([], { OVS_DBDIR: '/d' }).databases).toEqual(['/d/conf.db']);
    expect(opts(['--no-dbs'], {}).databases).toEqual([]);
    expect(opts([], {}).pidfile).toBe(null);
    expect(opts(['--pidfile'], {}).pidfile).toBe('/var/run/openvswitch/ovsdb-server.pid');
    expect(opts(['--log-file'], {}).logFile).toBe('/var/log/openvswitch/ovsdb-server.log');
  });

  it('unixctl path', () => {
    expect(resolveUnixctlPath(null, 42, env)).toBe('/run/x/ovsdb-server.42.ctl');
    expect(resolveUnixctlPath('none', 42, env)).toBe(null);
    expect(resolveUnixctlPath('c.ctl', 42, env)).toBe('/run/x/c.ctl');
    expect(resolveUnixctlPath('/abs.ctl', 42, env)).toBe('/abs.ctl');
  });
});
