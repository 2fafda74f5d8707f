/**
 * The command table: every verb's path, aliases, usage line, flags and argument count, with a
 * loader for its implementation. Only metadata lives here, so that parsing and `--help` load
 * nothing heavy; a verb's module (and the packages it needs) is imported when it runs.
 */
import type { FlagSpec } from './args.js';
import type { Context } from './context.js';
import type { ParsedArgs } from './args.js';

/** Run: a command implementation; returns the exit code (0 when it returns nothing). */
export type Run = (ctx: Context, args: ParsedArgs) => Promise<number | void>;

/** CommandSpec: one command of the table. */
export interface CommandSpec {
  /** Canonical path: `['image', 'ls']`, `['login']`. */
  path: string[];
  /** Other paths that run it: `[['images'], ['image', 'list']]`. */
  aliases?: string[][];
  /** What follows the command in the usage line: `[OPTIONS] IMAGE [COMMAND] [ARG...]`. */
  usage: string;
  summary: string;
  flags: FlagSpec[];
  /** Stop parsing flags at the first argument (`run`, `exec`). */
  stopAtFirstArg?: boolean;
  minArgs?: number;
  maxArgs?: number;
  /** Shown in the top-level help under "Commands" (a docker top-level verb). */
  topLevel?: boolean;
  load: () => Promise<Run>;
}

const f = {
  bool: (name: string, description: string, short?: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, description, type: 'boolean', ...(short !== undefined ? { short } : {}), ...extra }),
  str: (name: string, description: string, short?: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, description, type: 'string', ...(short !== undefined ? { short } : {}), ...extra }),
  list: (name: string, description: string, short?: string, extra: Partial<FlagSpec> = {}): FlagSpec => ({ name, description, type: 'list', ...(short !== undefined ? { short } : {}), ...extra }),
};

const formatFlag = (what: string): FlagSpec =>
  f.str('format', `Format output using a custom template:\n'table':            Print output in table format with column headers (default)\n'table TEMPLATE':   Print output in table format using the given Go template\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template (fields of ${what})`);
const inspectFormat = f.str('format', "Format output using a custom template:\n'json': Print in JSON format\n'TEMPLATE': Print output using the given Go template", 'f');
const filterFlag = f.list('filter', 'Filter output based on conditions provided', 'f', { valueName: 'filter' });

const mod = (loader: () => Promise<Record<string, Run>>, name: string) => async (): Promise<Run> => {
  const run = (await loader())[name];
  if (run === undefined) throw new Error(`stratum: command implementation ${name} is missing`);
  return run;
};
const imageMod = () => import('./commands/image.js') as unknown as Promise<Record<string, Run>>;
const containerMod = () => import('./commands/container.js') as unknown as Promise<Record<string, Run>>;
const archiveMod = () => import('./commands/archive.js') as unknown as Promise<Record<string, Run>>;
const networkMod = () => import('./commands/network.js') as unknown as Promise<Record<string, Run>>;
const volumeMod = () => import('./commands/volume.js') as unknown as Promise<Record<string, Run>>;
const loginMod = () => import('./commands/login.js') as unknown as Promise<Record<string, Run>>;
const inspectMod = () => import('./commands/inspect.js') as unknown as Promise<Record<string, Run>>;
const systemMod = () => import('./commands/system.js') as unknown as Promise<Record<string, Run>>;

const runFlags: FlagSpec[] = [
  f.list('add-host', 'Add a custom host-to-IP mapping (host:ip)', undefined, { valueName: 'list' }),
  f.list('cap-add', 'Add Linux capabilities'),
  f.list('cap-drop', 'Drop Linux capabilities'),
  f.str('cpu-shares', 'CPU shares (relative weight)', 'c', { valueName: 'int' }),
  f.str('cpus', 'Number of CPUs', undefined, { valueName: 'decimal' }),
  f.str('cpuset-cpus', 'CPUs in which to allow execution (0-3, 0,1)'),
  f.bool('detach', 'Run container in background and print container ID', 'd'),
  f.list('dns', 'Set custom DNS servers'),
  f.list('dns-option', 'Set DNS options'),
  f.list('dns-search', 'Set custom DNS search domains'),
  f.str('domainname', 'Container NIS domain name'),
  f.str('entrypoint', 'Overwrite the default ENTRYPOINT of the image'),
  f.list('env', 'Set environment variables', 'e'),
  f.list('env-file', 'Read in a file of environment variables'),
  f.str('hostname', 'Container host name', 'h'),
  f.bool('init', 'Run an init inside the container that forwards signals and reaps processes'),
  f.bool('interactive', 'Keep STDIN open even if not attached', 'i'),
  f.list('label', 'Set meta data on a container', 'l'),
  f.str('memory', 'Memory limit', 'm', { valueName: 'bytes' }),
  f.list('mount', 'Attach a filesystem mount to the container (type=bind|volume|tmpfs,source=…,target=…)'),
  f.str('memory-swap', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", undefined, { valueName: 'bytes' }),
  f.str('name', 'Assign a name to the container'),
  f.str('network', 'Connect a container to a network (bridge, host, none, container:NAME|ID, or a network name)', undefined, { valueName: 'network' }),
  f.str('net', 'Connect a container to a network', undefined, { hidden: true }),
  f.str('pids-limit', 'Tune container pids limit (set -1 for unlimited)', undefined, { valueName: 'int' }),
  f.str('platform', 'Set platform if server is multi-platform capable'),
  f.bool('privileged', 'Give extended privileges to this container'),
  f.list('publish', "Publish a container's port(s) to the host", 'p'),
  f.str('pull', 'Pull image before running ("always", "missing", "never")', undefined, { default: 'missing' }),
  f.bool('read-only', "Mount the container's root filesystem as read only"),
  f.bool('rootfs', 'The IMAGE argument is a root filesystem directory, used as the only (read-only) layer (like podman --rootfs)'),
  f.bool('rm', 'Automatically remove the container and its associated anonymous volumes when it exits'),
  f.str('stop-signal', 'Signal to stop the container'),
  f.str('stop-timeout', 'Timeout (in seconds) to stop a container', undefined, { valueName: 'int' }),
  f.list('tmpfs', 'Mount a tmpfs directory'),
  f.bool('tty', 'Allocate a pseudo-TTY', 't'),
  f.str('user', 'Username or UID (format: <name|uid>[:<group|gid>])', 'u'),
  f.list('volume', 'Bind mount a volume', 'v'),
  f.list('volumes-from', 'Mount volumes from the specified container(s)'),
  f.str('workdir', 'Working directory inside the container', 'w'),
];

/** COMMANDS: the table, in the order `stratum --help` lists them. */
export const COMMANDS: CommandSpec[] = [
  // ---- images
  {
    path: ['image', 'ls'],
    aliases: [['images'], ['image', 'list']],
    usage: '[OPTIONS] [REPOSITORY[:TAG]]',
    summary: 'List images',
    maxArgs: 1,
    topLevel: true,
    flags: [f.bool('all', 'Show all images (default hides intermediate images)', 'a'), f.bool('digests', 'Show digests'), filterFlag, formatFlag('an image'), f.bool('no-trunc', "Don't truncate output"), f.bool('quiet', 'Only show image IDs', 'q')],
    load: mod(imageMod, 'images'),
  },
  {
    path: ['image', 'pull'],
    aliases: [['pull']],
    usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
    summary: 'Download an image from a registry',
    minArgs: 1,
    maxArgs: 1,
    topLevel: true,
    flags: [f.str('platform', 'Set platform if server is multi-platform capable'), f.bool('quiet', 'Suppress verbose output', 'q')],
    load: mod(imageMod, 'pull'),
  },
  {
    path: ['image', 'push'],
    aliases: [['push']],
    usage: '[OPTIONS] NAME[:TAG]',
    summary: 'Upload an image to a registry',
    minArgs: 1,
    maxArgs: 1,
    topLevel: true,
    flags: [f.bool('all-tags', 'Push all tags of an image to the repository', 'a'), f.bool('quiet', 'Suppress verbose output', 'q')],
    load: mod(imageMod, 'push'),
  },
  {
    path: ['image', 'rm'],
    aliases: [['rmi'], ['image', 'remove']],
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    summary: 'Remove one or more images',
    minArgs: 1,
    topLevel: true,
    flags: [f.bool('force', 'Force removal of the image', 'f'), f.bool('no-prune', 'Do not delete untagged parents')],
    load: mod(imageMod, 'rmi'),
  },
  {
    path: ['image', 'tag'],
    aliases: [['tag']],
    usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
    summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    minArgs: 2,
    maxArgs: 2,
    topLevel: true,
    flags: [],
    load: mod(imageMod, 'tag'),
  },
  {
    path: ['image', 'history'],
    aliases: [['history']],
    usage: '[OPTIONS] IMAGE',
    summary: 'Show the history of an image',
    minArgs: 1,
    maxArgs: 1,
    topLevel: true,
    flags: [formatFlag('a history entry'), f.bool('human', 'Print sizes and dates in human readable format', 'H', { default: 'true' }), f.bool('no-trunc', "Don't truncate output"), f.bool('quiet', 'Only show image IDs', 'q')],
    load: mod(imageMod, 'history'),
  },
  {
    path: ['image', 'inspect'],
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    summary: 'Display detailed information on one or more images',
    minArgs: 1,
    flags: [inspectFormat],
    load: mod(imageMod, 'imageInspect'),
  },
  {
    path: ['image', 'save'],
    aliases: [['save']],
    usage: '[OPTIONS] IMAGE [IMAGE...]',
    summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    minArgs: 1,
    topLevel: true,
    flags: [f.str('output', 'Write to a file, instead of STDOUT', 'o')],
    load: mod(archiveMod, 'save'),
  },
  {
    path: ['image', 'load'],
    aliases: [['load']],
    usage: '[OPTIONS]',
    summary: 'Load an image from a tar archive or STDIN',
    maxArgs: 0,
    topLevel: true,
    flags: [f.str('input', 'Read from tar archive file, instead of STDIN', 'i'), f.bool('quiet', 'Suppress the load output', 'q')],
    load: mod(archiveMod, 'load'),
  },
  {
    path: ['image', 'import'],
    aliases: [['import']],
    usage: '[OPTIONS] file|-  [REPOSITORY[:TAG]]',
    summary: 'Import the contents from a tarball to create a filesystem image',
    minArgs: 1,
    maxArgs: 2,
    topLevel: true,
    flags: [f.list('change', 'Apply Dockerfile instruction to the created image', 'c'), f.str('message', 'Set commit message for imported image', 'm'), f.str('platform', 'Set platform if server is multi-platform capable')],
    load: mod(archiveMod, 'importImage'),
  },
  // ---- containers
  {
    path: ['container', 'run'],
    aliases: [['run']],
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    summary: 'Create and run a new container from an image',
    minArgs: 1,
    stopAtFirstArg: true,
    topLevel: true,
    flags: runFlags,
    load: mod(containerMod, 'run'),
  },
  {
    path: ['container', 'create'],
    aliases: [['create']],
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    summary: 'Create a new container',
    minArgs: 1,
    stopAtFirstArg: true,
    topLevel: true,
    flags: runFlags.filter((s) => s.name !== 'detach' && s.name !== 'rm'),
    load: mod(containerMod, 'create'),
  },
  {
    path: ['container', 'start'],
    aliases: [['start']],
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Start one or more stopped containers',
    minArgs: 1,
    topLevel: true,
    flags: [f.bool('attach', 'Attach STDOUT/STDERR and forward signals', 'a'), f.bool('interactive', "Attach container's STDIN", 'i')],
    load: mod(containerMod, 'start'),
  },
  {
    path: ['container', 'ls'],
    aliases: [['ps'], ['container', 'ps'], ['container', 'list']],
    usage: '[OPTIONS]',
    summary: 'List containers',
    maxArgs: 0,
    topLevel: true,
    flags: [
      f.bool('all', 'Show all containers (default shows just running)', 'a'),
      filterFlag,
      formatFlag('a container'),
      f.str('last', 'Show n last created containers (includes all states)', 'n', { valueName: 'int', default: '-1' }),
      f.bool('latest', 'Show the latest created container (includes all states)', 'l'),
      f.bool('no-trunc', "Don't truncate output"),
      f.bool('quiet', 'Only display container IDs', 'q'),
      f.bool('size', 'Display total file sizes', 's'),
    ],
    load: mod(containerMod, 'ps'),
  },
  {
    path: ['container', 'exec'],
    aliases: [['exec']],
    usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
    summary: 'Execute a command in a running container',
    minArgs: 2,
    stopAtFirstArg: true,
    topLevel: true,
    flags: [
      f.bool('detach', 'Detached mode: run command in the background', 'd'),
      f.list('env', 'Set environment variables', 'e'),
      f.list('env-file', 'Read in a file of environment variables'),
      f.bool('interactive', 'Keep STDIN open even if not attached', 'i'),
      f.bool('privileged', 'Give extended privileges to the command'),
      f.bool('tty', 'Allocate a pseudo-TTY', 't'),
      f.str('user', 'Username or UID (format: "<name|uid>[:<group|gid>]")', 'u'),
      f.str('workdir', 'Working directory inside the container', 'w'),
    ],
    load: mod(containerMod, 'exec'),
  },
  {
    path: ['container', 'logs'],
    aliases: [['logs']],
    usage: '[OPTIONS] CONTAINER',
    summary: 'Fetch the logs of a container',
    minArgs: 1,
    maxArgs: 1,
    topLevel: true,
    flags: [
      f.bool('details', 'Show extra details provided to logs'),
      f.bool('follow', 'Follow log output', 'f'),
      f.str('since', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'),
      f.str('tail', 'Number of lines to show from the end of the logs', 'n', { default: 'all' }),
      f.bool('timestamps', 'Show timestamps', 't'),
      f.str('until', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'),
    ],
    load: mod(containerMod, 'logs'),
  },
  {
    path: ['container', 'stop'],
    aliases: [['stop']],
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Stop one or more running containers',
    minArgs: 1,
    topLevel: true,
    flags: [f.str('signal', 'Signal to send to the container', 's'), f.str('time', 'Seconds to wait before killing the container', 't', { valueName: 'int' })],
    load: mod(containerMod, 'stop'),
  },
  {
    path: ['container', 'kill'],
    aliases: [['kill']],
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Kill one or more running containers',
    minArgs: 1,
    topLevel: true,
    flags: [f.str('signal', 'Signal to send to the container', 's', { default: 'KILL' })],
    load: mod(containerMod, 'kill'),
  },
  {
    path: ['container', 'rm'],
    aliases: [['rm'], ['container', 'remove']],
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Remove one or more containers',
    minArgs: 1,
    topLevel: true,
    flags: [f.bool('force', 'Force the removal of a running container (uses SIGKILL)', 'f'), f.bool('volumes', 'Remove anonymous volumes associated with the container', 'v')],
    load: mod(containerMod, 'rm'),
  },
  {
    path: ['container', 'commit'],
    aliases: [['commit']],
    usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
    summary: "Create a new image from a container's changes",
    minArgs: 1,
    maxArgs: 2,
    topLevel: true,
    flags: [
      f.str('author', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")', 'a'),
      f.list('change', 'Apply Dockerfile instruction to the created image', 'c'),
      f.str('message', 'Commit message', 'm'),
      f.bool('pause', 'Pause container during commit', 'p', { default: 'true' }),
    ],
    load: mod(containerMod, 'commit'),
  },
  {
    path: ['container', 'inspect'],
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    summary: 'Display detailed information on one or more containers',
    minArgs: 1,
    flags: [inspectFormat, f.bool('size', 'Display total file sizes', 's')],
    load: mod(containerMod, 'containerInspect'),
  },
  {
    path: ['container', 'export'],
    aliases: [['export']],
    usage: '[OPTIONS] CONTAINER',
    summary: "Export a container's filesystem as a tar archive",
    minArgs: 1,
    maxArgs: 1,
    topLevel: true,
    flags: [f.str('output', 'Write to a file, instead of STDOUT', 'o')],
    load: mod(archiveMod, 'exportContainer'),
  },
  {
    path: ['container', 'wait'],
    aliases: [['wait']],
    usage: 'CONTAINER [CONTAINER...]',
    summary: 'Block until one or more containers stop, then print their exit codes',
    minArgs: 1,
    topLevel: true,
    flags: [],
    load: mod(containerMod, 'wait'),
  },
  {
    path: ['container', 'pause'],
    aliases: [['pause']],
    usage: 'CONTAINER [CONTAINER...]',
    summary: 'Pause all processes within one or more containers',
    minArgs: 1,
    topLevel: true,
    flags: [],
    load: mod(containerMod, 'pause'),
  },
  {
    path: ['container', 'unpause'],
    aliases: [['unpause']],
    usage: 'CONTAINER [CONTAINER...]',
    summary: 'Unpause all processes within one or more containers',
    minArgs: 1,
    topLevel: true,
    flags: [],
    load: mod(containerMod, 'unpause'),
  },
  {
    path: ['container', 'top'],
    aliases: [['top']],
    usage: 'CONTAINER',
    summary: 'Display the running processes of a container',
    minArgs: 1,
    maxArgs: 1,
    topLevel: true,
    flags: [],
    load: mod(containerMod, 'top'),
  },
  {
    path: ['container', 'stats'],
    aliases: [['stats']],
    usage: '[OPTIONS] [CONTAINER...]',
    summary: 'Display a live stream of container(s) resource usage statistics',
    topLevel: true,
    flags: [
      f.bool('all', 'Show all containers (default shows just running)', 'a'),
      formatFlag('a container\'s usage (ID, Name, Container, CPUPerc, MemUsage, MemPerc, NetIO, BlockIO, PIDs)'),
      f.bool('no-stream', 'Disable streaming stats and only pull the first result'),
      f.bool('no-trunc', "Don't truncate output"),
    ],
    load: mod(containerMod, 'stats'),
  },
  // ---- inspect (any object)
  {
    path: ['inspect'],
    usage: '[OPTIONS] NAME|ID [NAME|ID...]',
    summary: 'Return low-level information on Stratum objects',
    minArgs: 1,
    topLevel: true,
    flags: [inspectFormat, f.bool('size', 'Display total file sizes if the type is container', 's'), f.str('type', 'Return JSON for specified type (container, image, network, volume)')],
    load: mod(inspectMod, 'inspect'),
  },
  // ---- networks
  {
    path: ['network', 'ls'],
    aliases: [['network', 'list']],
    usage: '[OPTIONS]',
    summary: 'List networks',
    maxArgs: 0,
    flags: [filterFlag, formatFlag('a network'), f.bool('no-trunc', 'Do not truncate the output'), f.bool('quiet', 'Only display network IDs', 'q')],
    load: mod(networkMod, 'networkLs'),
  },
  {
    path: ['network', 'create'],
    usage: '[OPTIONS] NETWORK',
    summary: 'Create a network',
    minArgs: 1,
    maxArgs: 1,
    flags: [
      f.str('driver', 'Driver to manage the Network', 'd', { default: 'bridge' }),
      f.str('gateway', 'IPv4 Gateway for the master subnet', undefined, { valueName: 'string' }),
      f.bool('internal', 'No outbound NAT for the network (its containers reach only each other and the host)'),
      f.list('opt', 'Set driver specific options', 'o', { valueName: 'map' }),
      f.str('subnet', 'Subnet in CIDR format that represents a network segment'),
    ],
    load: mod(networkMod, 'networkCreate'),
  },
  {
    path: ['network', 'rm'],
    aliases: [['network', 'remove']],
    usage: 'NETWORK [NETWORK...]',
    summary: 'Remove one or more networks',
    minArgs: 1,
    flags: [f.bool('force', 'Do not error if the network does not exist', 'f')],
    load: mod(networkMod, 'networkRm'),
  },
  {
    path: ['network', 'inspect'],
    usage: '[OPTIONS] NETWORK [NETWORK...]',
    summary: 'Display detailed information on one or more networks',
    minArgs: 1,
    flags: [inspectFormat],
    load: mod(networkMod, 'networkInspect'),
  },
  // ---- volumes
  {
    path: ['volume', 'ls'],
    aliases: [['volume', 'list']],
    usage: '[OPTIONS]',
    summary: 'List volumes',
    maxArgs: 0,
    flags: [filterFlag, formatFlag('a volume'), f.bool('quiet', 'Only display volume names', 'q')],
    load: mod(volumeMod, 'volumeLs'),
  },
  {
    path: ['volume', 'create'],
    usage: '[OPTIONS] [VOLUME]',
    summary: 'Create a volume',
    maxArgs: 1,
    flags: [f.str('driver', 'Specify volume driver name', 'd', { default: 'local' }), f.list('label', 'Set metadata for a volume'), f.list('opt', 'Set driver specific options', 'o', { valueName: 'map' }), f.str('name', 'Specify volume name', undefined, { hidden: true })],
    load: mod(volumeMod, 'volumeCreate'),
  },
  {
    path: ['volume', 'rm'],
    aliases: [['volume', 'remove']],
    usage: '[OPTIONS] VOLUME [VOLUME...]',
    summary: 'Remove one or more volumes',
    minArgs: 1,
    flags: [f.bool('force', 'Force the removal of one or more volumes', 'f')],
    load: mod(volumeMod, 'volumeRm'),
  },
  {
    path: ['volume', 'inspect'],
    usage: '[OPTIONS] VOLUME [VOLUME...]',
    summary: 'Display detailed information on one or more volumes',
    minArgs: 1,
    flags: [inspectFormat],
    load: mod(volumeMod, 'volumeInspect'),
  },
  // ---- registry credentials
  {
    path: ['login'],
    usage: '[OPTIONS] [SERVER]',
    summary: 'Log in to a registry',
    maxArgs: 1,
    topLevel: true,
    flags: [f.str('password', 'Password', 'p'), f.bool('password-stdin', 'Take the password from stdin'), f.str('username', 'Username', 'u')],
    load: mod(loginMod, 'login'),
  },
  {
    path: ['logout'],
    usage: '[SERVER]',
    summary: 'Log out from a registry',
    maxArgs: 1,
    topLevel: true,
    flags: [],
    load: mod(loginMod, 'logout'),
  },
  // ---- system
  {
    path: ['system', 'prune'],
    usage: '[OPTIONS]',
    summary: 'Remove unused data',
    maxArgs: 0,
    flags: [f.bool('all', 'Remove all unused images not just dangling ones', 'a'), f.bool('force', 'Do not prompt for confirmation', 'f'), f.bool('volumes', 'Prune anonymous volumes')],
    load: mod(systemMod, 'prune'),
  },
  {
    path: ['system', 'gc'],
    aliases: [['gc']],
    usage: '',
    summary: 'Remove what crashed stratum processes left behind (mounts, cgroups, veths, netns, rules, leases, processes)',
    maxArgs: 0,
    topLevel: true,
    flags: [],
    load: mod(systemMod, 'gc'),
  },
  {
    path: ['system', 'info'],
    aliases: [['info']],
    usage: '[OPTIONS]',
    summary: 'Display system-wide information',
    maxArgs: 0,
    topLevel: true,
    flags: [f.str('format', 'Format output using a custom template', 'f')],
    load: mod(systemMod, 'info'),
  },
  {
    path: ['version'],
    usage: '',
    summary: 'Show the Stratum version information',
    maxArgs: 0,
    topLevel: true,
    flags: [f.str('format', 'Format output using a custom template', 'f')],
    load: mod(systemMod, 'version'),
  },
];

/** GROUPS: the management commands and what they manage. */
export const GROUPS: Record<string, string> = {
  container: 'Manage containers',
  image: 'Manage images',
  network: 'Manage networks',
  system: 'Manage Stratum',
  volume: 'Manage volumes',
};

/**
 * findCommand finds the command that `words` start with (its path or an alias, longest first)
 * and how many words named it.
 */
export function findCommand(words: readonly string[]): { spec: CommandSpec; used: number } | undefined {
  let best: { spec: CommandSpec; used: number } | undefined;
  for (const spec of COMMANDS) {
    for (const p of [spec.path, ...(spec.aliases ?? [])]) {
      if (p.length <= words.length && p.every((w, k) => words[k] === w) && (best === undefined || p.length > best.used)) best = { spec, used: p.length };
    }
  }
  return best;
}
