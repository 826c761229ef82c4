// Just enough of pacemaker to run OVN's ovndb-servers.ocf agent the way the cluster manager does:
// OCF_ROOT with a small ocf-shellfuncs, HA_SBIN_DIR with crm_master / crm_attribute scripts that record
// every call and keep the cluster attributes in files shared by all "nodes", and per-action environments
// (OCF_RESKEY_*, notify variables). Each node is an OvnNode with its own directories and server choice.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Impl, Outcome } from '../lib/harness.ts';
import { OvnNode, run, sweepProcesses } from './ovn-node.ts';

export const OCF_AGENT = '/usr/share/ovn/scripts/ovndb-servers.ocf';

/** OCF return codes (the OCF resource agent API). */
export const OCF = {
  SUCCESS: 0,
  ERR_GENERIC: 1,
  NOT_RUNNING: 7,
  RUNNING_MASTER: 8,
} as const;

// Written here rather than taken from resource-agents (not installed): the constants and functions the
// agent uses, nothing more. ocf_log goes to a file per cluster so a failing test can show it.
const SHELLFUNCS = `# minimal ocf-shellfuncs for tests
OCF_SUCCESS=0; OCF_ERR_GENERIC=1; OCF_ERR_ARGS=2; OCF_ERR_UNIMPLEMENTED=3; OCF_ERR_PERM=4
OCF_ERR_INSTALLED=5; OCF_ERR_CONFIGURED=6; OCF_NOT_RUNNING=7; OCF_RUNNING_MASTER=8; OCF_FAILED_MASTER=9
__OCF_ACTION="$1"
ocf_log() { lvl=$1; shift; echo "$(date +%H:%M:%S.%N) \${OCF_RESKEY_CRM_meta_on_node} $__OCF_ACTION $lvl: $*" >> "$OCF_TEST_STATE/ocf.log"; }
ocf_local_nodename() { echo "$OCF_RESKEY_CRM_meta_on_node"; }
ocf_attribute_target() { echo "$OCF_RESKEY_CRM_meta_on_node"; }
`;

// crm_master -l reboot [-N NODE] (-v SCORE | -D | -G): the node's master score, one file per node.
const CRM_MASTER = `#!/bin/sh
echo "crm_master $*" >> "$OCF_TEST_STATE/calls.log"
node=$OCF_RESKEY_CRM_meta_on_node; val=; op=
while [ $# -gt 0 ]; do
  case $1 in
    -N) node=$2; shift;; -v) val=$2; op=set; shift;; -D) op=del;; -G) op=get;; -l|-q) [ $1 = -l ] && shift;;
  esac; shift
done
f="$OCF_TEST_STATE/master-score.$node"
case $op in set) echo "$val" > "$f";; del) rm -f "$f";; get) cat "$f" 2>/dev/null || exit 6;; esac
`;

// crm_attribute --type crm_config --name NAME [-s SET] (-v VALUE | --query [-q] | -D): cluster properties.
const CRM_ATTRIBUTE = `#!/bin/sh
echo "crm_attribute $*" >> "$OCF_TEST_STATE/calls.log"
name=; val=; op=
while [ $# -gt 0 ]; do
  case $1 in
    --name|-n) name=$2; shift;; -v|--update) val=$2; op=set; shift;; --query|-G) op=get;; -D|--delete) op=del;;
    --type|-t|-s|--set-name|-l|--lifetime) shift;;
  esac; shift
done
f="$OCF_TEST_STATE/attr.$name"
case $op in
  set) echo "$val" > "$f";;
  del) rm -f "$f";;
  get) if [ -f "$f" ]; then cat "$f"; else echo "Error performing operation: No such device or address" >&2; exit 6; fi;;
esac
`;

export interface ClusterConfig {
  /** The "virtual IP" all nodes listen on and sync from. */
  masterIp: string;
  nbPort: number;
  sbPort: number;
  /** With TLS: the nodes' key, certificate and CA files (nb/sb_master_protocol=ssl). */
  ssl?: { key: string; cert: string; ca: string };
}

/** The shared state of a two-or-more-node pretend cluster. */
export class FakeCluster {
  readonly root: string;
  readonly state: string;
  readonly nodes: OcfNode[] = [];

  constructor(readonly config: ClusterConfig) {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'ovn-ocf-'));
    this.state = path.join(this.root, 'state');
    const heartbeat = path.join(this.root, 'ocf/lib/heartbeat');
    const sbin = path.join(this.root, 'sbin');
    for (const d of [this.state, heartbeat, sbin]) fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(heartbeat, 'ocf-shellfuncs'), SHELLFUNCS);
    fs.writeFileSync(path.join(sbin, 'crm_master'), CRM_MASTER, { mode: 0o755 });
    fs.writeFileSync(path.join(sbin, 'crm_attribute'), CRM_ATTRIBUTE, { mode: 0o755 });
  }

  node(name: string, impl: Impl): OcfNode {
    const n = new OcfNode(this, impl, name);
    this.nodes.push(n);
    return n;
  }

  /** The cluster property the agent records the master in (OVN_REPL_INFO). */
  replInfo(): string | null {
    try {
      return fs.readFileSync(path.join(this.state, 'attr.OVN_REPL_INFO'), 'utf8').trim();
    } catch {
      return null;
    }
  }

  masterScore(node: string): string | null {
    try {
      return fs.readFileSync(path.join(this.state, `master-score.${node}`), 'utf8').trim();
    } catch {
      return null;
    }
  }

  /** Every crm_* call, in order. */
  calls(): string[] {
    try {
      return fs.readFileSync(path.join(this.state, 'calls.log'), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  ocfLog(): string {
    try {
      return fs.readFileSync(path.join(this.state, 'ocf.log'), 'utf8');
    } catch {
      return '';
    }
  }

  get ocfRoot(): string {
    return path.join(this.root, 'ocf');
  }

  get sbinDir(): string {
    return path.join(this.root, 'sbin');
  }

  async cleanup(): Promise<void> {
    for (const n of this.nodes) await n.cleanup();
    sweepProcesses(this.root);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Notify variables for one notification (`pre`/`post` × operation), as pacemaker sets them. */
export interface Notify {
  type: 'pre' | 'post';
  operation: 'start' | 'stop' | 'promote' | 'demote';
  promote?: readonly string[];
  demote?: readonly string[];
  start?: readonly string[];
  master?: readonly string[];
}

export class OcfNode extends OvnNode {
  constructor(
    readonly cluster: FakeCluster,
    impl: Impl,
    name: string,
  ) {
    super(impl, name, cluster.root);
  }

  /** The environment pacemaker gives the agent for one action on this node. */
  ocfEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const c = this.cluster.config;
    return {
      ...this.env,
      OCF_ROOT: this.cluster.ocfRoot,
      HA_SBIN_DIR: this.cluster.sbinDir,
      OCF_TEST_STATE: this.cluster.state,
      OCF_RESOURCE_INSTANCE: 'ovndb_servers',
      OCF_RESOURCE_TYPE: 'ovndb-servers',
      OCF_RESKEY_CRM_meta_on_node: this.name,
      OCF_RESKEY_CRM_meta_notify: 'true',
      OCF_RESKEY_master_ip: c.masterIp,
      OCF_RESKEY_nb_master_port: String(c.nbPort),
      OCF_RESKEY_sb_master_port: String(c.sbPort),
      OCF_RESKEY_manage_northd: 'no',
      ...(c.ssl
        ? {
            OCF_RESKEY_nb_master_protocol: 'ssl',
            OCF_RESKEY_sb_master_protocol: 'ssl',
            OCF_RESKEY_ovn_nb_db_privkey: c.ssl.key,
            OCF_RESKEY_ovn_nb_db_cert: c.ssl.cert,
            OCF_RESKEY_ovn_nb_db_cacert: c.ssl.ca,
            OCF_RESKEY_ovn_sb_db_privkey: c.ssl.key,
            OCF_RESKEY_ovn_sb_db_cert: c.ssl.cert,
            OCF_RESKEY_ovn_sb_db_cacert: c.ssl.ca,
          }
        : {}),
      ...extra,
    };
  }

  /** Run one agent action; `notify` fills the OCF_RESKEY_CRM_meta_notify_* variables. */
  action(name: string, notify?: Partial<Notify>): Promise<Outcome> {
    const extra: Record<string, string> = {};
    if (notify) {
      if (notify.type) extra.OCF_RESKEY_CRM_meta_notify_type = notify.type;
      if (notify.operation) extra.OCF_RESKEY_CRM_meta_notify_operation = notify.operation;
      for (const k of ['promote', 'demote', 'start', 'master'] as const) {
        const v = notify[k];
        if (v) extra[`OCF_RESKEY_CRM_meta_notify_${k}_uname`] = v.join(' ');
      }
    }
    return run('bash', [OCF_AGENT, name], { env: this.ocfEnv(extra), timeoutMs: 60_000, cwd: this.dir });
  }
}
