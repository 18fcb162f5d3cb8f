/**
 * A private network for tests, made of Linux network namespaces: a hub namespace (the master's)
 * holding a bridge at 198.18.0.1/24 (the benchmarking range, RFC 2544), and one namespace per
 * spoke (a worker's) joined to it by a veth pair, at 198.18.0.11, .12, ... Every namespace gets its
 * loopback and its link, no default route and nothing else, so no packet reaches the machine's own
 * network. `ip netns` needs root; `netnsUnavailable` says why it cannot be used here, if so.
 * `destroy` removes every namespace made (their links go with them), also after a partial create.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const HUB_ADDRESS = '198.18.0.1';
const PREFIX = 24;
/** The link inside each spoke namespace. */
const SPOKE_LINK = 'eth0';

export interface Spoke {
  readonly namespace: string;
  readonly address: string;
}

export interface NetnsLab {
  readonly hub: string;
  readonly spokes: readonly Spoke[];
  /** Runs `ip args…` and resolves to its stdout. */
  ip(args: readonly string[]): Promise<string>;
  /** Takes the spoke's link down (from inside its namespace): the peer at the hub loses carrier, nothing more is delivered. */
  cut(spoke: Spoke): Promise<void>;
  /** Starts `command args…` inside `namespace` (ip netns exec, which execs it: the child's pid is the command's). */
  spawnIn(namespace: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv): ChildProcess;
  destroy(): Promise<void>;
}

async function ip(args: readonly string[]): Promise<string> {
  const { stdout } = await run('ip', args);
  return stdout;
}

/** Why namespaces cannot be made here (not root, no `ip`, not permitted), or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root (run the tests as root)';
  try {
    await ip(['-V']);
  } catch {
    return '`ip` (iproute2) is not installed';
  }
  const probe = `tessera-probe-${randomBytes(4).toString('hex')}`;
  try {
    await ip(['netns', 'add', probe]);
  } catch (error) {
    return `ip netns add is not permitted here: ${error instanceof Error ? error.message.trim() : String(error)}`;
  }
  await ip(['netns', 'del', probe]).catch(() => undefined);
  return undefined;
}

export async function createNetnsLab(spokeCount: number): Promise<NetnsLab> {
  const tag = `tsr${randomBytes(3).toString('hex')}`;
  const hub = `${tag}-hub`;
  const made: string[] = [];
  const spokes: Spoke[] = Array.from({ length: spokeCount }, (_, i) => ({ namespace: `${tag}-s${i + 1}`, address: `198.18.0.${11 + i}` }));
  const lab: NetnsLab = {
    hub,
    spokes,
    ip,
    cut: async (spoke) => void (await ip(['-n', spoke.namespace, 'link', 'set', SPOKE_LINK, 'down'])),
    spawnIn: (namespace, command, args, env) => spawn('ip', ['netns', 'exec', namespace, command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    async destroy() {
      for (const namespace of made.splice(0).reverse()) await ip(['netns', 'del', namespace]).catch(() => undefined);
    },
  };
  try {
    for (const namespace of [hub, ...spokes.map((s) => s.namespace)]) {
      await ip(['netns', 'add', namespace]);
      made.push(namespace);
      await ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
    }
    await ip(['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', hub, 'addr', 'add', `${HUB_ADDRESS}/${PREFIX}`, 'dev', 'br0']);
    await ip(['-n', hub, 'link', 'set', 'br0', 'up']);
    for (const [i, spoke] of spokes.entries()) {
      // Made inside the hub with its peer put straight into the spoke: no link ever exists in the root namespace.
      const hubEnd = `hub${i + 1}`;
      await ip(['-n', hub, 'link', 'add', hubEnd, 'type', 'veth', 'peer', 'name', SPOKE_LINK, 'netns', spoke.namespace]);
      await ip(['-n', hub, 'link', 'set', hubEnd, 'master', 'br0', 'up']);
      await ip(['-n', spoke.namespace, 'addr', 'add', `${spoke.address}/${PREFIX}`, 'dev', SPOKE_LINK]);
      await ip(['-n', spoke.namespace, 'link', 'set', SPOKE_LINK, 'up']);
    }
  } catch (error) {
    await lab.destroy();
    throw error;
  }
  return lab;
}
