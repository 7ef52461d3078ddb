/**
 * The commands of skiff, one entry each: its summary, its flag table, the positional arguments it takes, and its code,
 * loaded only when it runs (a node agent does not carry the API server's or the controllers' code in its memory).
 */
import {
  AGENT_COMMAND_FLAGS,
  APISERVER_FLAGS,
  CONTROLLER_MANAGER_FLAGS,
  IMAGE_BUILD_FLAGS,
  IMAGE_SOCKET_FLAGS,
  SCHEDULER_FLAGS,
  SERVER_FLAGS,
  SIM_NODES_FLAGS,
  WHY_PENDING_FLAGS,
} from './flag-tables.ts';
import { parseCommandLine, type FlagTable, type Flags, type Positionals } from './flags.ts';

export interface CommandDefinition<T extends FlagTable> {
  summary: string;
  flags: T;
  args?: Positionals;
  run(flags: Flags<T>, args: string[]): Promise<void>;
}

/** a command whose flags are known only as a table: what the dispatcher and help need */
export interface Command {
  summary: string;
  flags: FlagTable;
  args?: Positionals;
  /** the command line parsed against the command's flags (a UsageError when it does not fit), ready to run */
  prepare(
    argv: readonly string[],
    env?: Readonly<Record<string, string | undefined>>,
  ): { help: true } | { help: false; run(): Promise<void> };
}

/** a name that holds commands of its own (`skiff image import`) */
export interface CommandGroup {
  summary: string;
  commands: Record<string, Command>;
}

export function command<T extends FlagTable>(def: CommandDefinition<T>): Command {
  return {
    summary: def.summary,
    flags: def.flags,
    args: def.args,
    prepare(argv, env) {
      const line = parseCommandLine(argv, def.flags, def.args, env);
      return line.help ? line : { help: false, run: () => def.run(line.flags, line.args) };
    },
  };
}

export const COMMANDS: Record<string, Command | CommandGroup> = {
  server: command({
    summary: 'run a whole single-node cluster in the foreground (store, API server, scheduler, controllers)',
    flags: SERVER_FLAGS,
    run: async (f) => (await import('./server.ts')).serverCommand(f),
  }),
  apiserver: command({
    summary: 'run the API server alone (store: embedded SQLite by default, or --store etcd://host:port)',
    flags: APISERVER_FLAGS,
    run: async (f) => (await import('./server.ts')).apiserverCommand(f),
  }),
  scheduler: command({
    summary: 'run the scheduler alone against an API server (--kubeconfig)',
    flags: SCHEDULER_FLAGS,
    run: async (f) => (await import('./role-commands.ts')).schedulerCommand(f),
  }),
  'controller-manager': command({
    summary: 'run the controllers alone against an API server (--kubeconfig, --controllers, --queue)',
    flags: CONTROLLER_MANAGER_FLAGS,
    run: async (f) => (await import('./role-commands.ts')).controllerManagerCommand(f),
  }),
  agent: command({
    summary: 'run the node agent of this host: pods on containerd through CRI, with CNI networking',
    flags: AGENT_COMMAND_FLAGS,
    run: async (f) => (await import('./agent.ts')).agentCommand(f),
  }),
  image: {
    summary: "images without a registry: build-busybox (pause and busybox from this host's packages), import FILE.tar",
    commands: {
      'build-busybox': command({
        summary: "build the pause and busybox images reproducibly from this host's packages",
        flags: IMAGE_BUILD_FLAGS,
        run: async (f) => (await import('./image.ts')).buildBusyboxCommand(f),
      }),
      import: command({
        summary: "load OCI (or docker) image archives into a node's containerd, where pods find them",
        flags: IMAGE_SOCKET_FLAGS,
        args: { name: 'FILE.tar', min: 1, max: Infinity },
        run: async (f, files) => (await import('./image.ts')).importCommand(f, files),
      }),
    },
  },
  'why-pending': command({
    summary: 'explain per node why the scheduler cannot place a pod, and what would make it fit',
    flags: WHY_PENDING_FLAGS,
    args: { name: 'POD', min: 1, max: 1 },
    run: async (f, [pod]) => (await import('./tools.ts')).whyPendingCommand(f, pod),
  }),
  'sim-nodes': command({
    summary: 'register simulated nodes that report their pods Running (a test and benchmark tool)',
    flags: SIM_NODES_FLAGS,
    run: async (f) => (await import('./tools.ts')).simNodesCommand(f),
  }),
};
