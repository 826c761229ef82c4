// OVS connection-method strings (ovs-reference §1.2.1): punix:FILE, ptcp:PORT[:IP], pssl:PORT[:IP],
// unix:FILE, tcp:HOST[:PORT], ssl:HOST[:PORT]. IPv6 literals go in brackets; omitted ports are 6640.

import fs from 'node:fs';
import path from 'node:path';

export const DEFAULT_OVSDB_PORT = 6640;

export type ConnectionMethod =
  | { type: 'unix'; path: string }
  | { type: 'punix'; path: string }
  | { type: 'tcp'; host: string; port: number }
  | { type: 'ssl'; host: string; port: number }
  | { type: 'ptcp'; port: number; host: string }
  | { type: 'pssl'; port: number; host: string };

/** Parse a connection method; throws an Error with a readable message for anything else. */
export function parseConnectionMethod(s: string): ConnectionMethod {
  const colon = s.indexOf(':');
  const type = colon < 0 ? s : s.slice(0, colon);
  const rest = colon < 0 ? '' : s.slice(colon + 1);
  switch (type) {
    case 'unix':
    case 'punix':
      if (rest === '') throw new Error(`${s}: missing socket path`);
      return { type, path: rest };
    case 'tcp':
    case 'ssl': {
      const [host, port] = splitHostPort(s, rest);
      if (host === '') throw new Error(`${s}: host must be specified`);
      return { type, host, port: parsePort(s, port) };
    }
    case 'ptcp':
    case 'pssl': {
      // PORT[:IP]
      const c = rest.indexOf(':');
      const port = c < 0 ? rest : rest.slice(0, c);
      let host = c < 0 ? '' : rest.slice(c + 1);
      if (host.startsWith('[')) {
        if (!host.endsWith(']')) throw new Error(`${s}: bad IPv6 address`);
        host = host.slice(1, -1);
      }
      return { type, port: parsePort(s, port), host: host === '' ? '0.0.0.0' : host };
    }
    default:
      throw new Error(`${s}: unknown connection method`);
  }
}

function splitHostPort(s: string, rest: string): [string, string] {
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) throw new Error(`${s}: bad IPv6 address`);
    const after = rest.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) throw new Error(`${s}: bad address`);
    return [rest.slice(1, end), after.slice(1)];
  }
  const c = rest.lastIndexOf(':');
  if (c < 0) return [rest, ''];
  if (rest.indexOf(':') !== c) return [rest, '']; // bare IPv6 without brackets: no port
  return [rest.slice(0, c), rest.slice(c + 1)];
}

function parsePort(s: string, port: string): number {
  if (port === '') return DEFAULT_OVSDB_PORT;
  if (!/^[0-9]+$/.test(port) || Number(port) > 65535) throw new Error(`${s}: bad port number "${port}"`);
  return Number(port);
}

/**
 * Where a `unix:`/`punix:` name is: a relative name is in $OVS_RUNDIR (else Debian's compiled-in
 * /var/run/openvswitch), as the reference's unix streams resolve it — not in the working directory.
 */
export function unixSocketPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env['OVS_RUNDIR'] || '/var/run/openvswitch', name);
}

// sockaddr_un holds 108 bytes; deeper paths (e.g. in test suites) are reached through /proc/self/fd/N/NAME
// with N an open descriptor of the directory.
const MAX_UNIX_PATH = 100;

/** A bindable/connectable form of a unix socket path; call release() once bind/connect has happened. */
export function shortUnixPath(p: string): { path: string; release: () => void } {
  if (Buffer.byteLength(p) <= MAX_UNIX_PATH) return { path: p, release: () => {} };
  const fd = fs.openSync(path.dirname(p), 'r');
  return {
    path: `/proc/self/fd/${fd}/${path.basename(p)}`,
    release: () => fs.closeSync(fd),
  };
}
