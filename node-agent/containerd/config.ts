/**
 * The configuration of the containerd instance a node agent runs for itself: its own root, state, socket, runc state
 * and CNI folders under the agent's data folder, so several nodes (and a system containerd) can share one machine.
 */
import path from 'node:path';

export interface ContainerdLayout {
  /** Folder everything lives in (root, state, sockets, CNI configuration). */
  dir: string;
  socket: string;
  root: string;
  state: string;
  runcRoot: string;
  optDir: string;
  cniConfDir: string;
  cniBinDir: string;
  /** Folder of <registry host>/hosts.toml files, re-read on every pull. */
  registryConfigDir: string;
  configFile: string;
}

export function containerdLayout(dir: string, cniBinDir = '/usr/lib/cni'): ContainerdLayout {
  return {
    dir,
    socket: path.join(dir, 'containerd.sock'),
    root: path.join(dir, 'root'),
    state: path.join(dir, 'state'),
    runcRoot: path.join(dir, 'runc'),
    optDir: path.join(dir, 'opt'),
    cniConfDir: path.join(dir, 'cni', 'net.d'),
    cniBinDir,
    registryConfigDir: path.join(dir, 'certs.d'),
    configFile: path.join(dir, 'config.toml'),
  };
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** containerd 1.6 configuration (version 2) with the CRI plugin settings these hosts need. */
export function containerdConfig(l: ContainerdLayout, sandboxImage: string): string {
  const cri = '[plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${q(l.root)}
state = ${q(l.state)}
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = ${q(l.socket)}

[ttrpc]
  address = ${q(l.socket + '.ttrpc')}

[debug]
  level = "warn"

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(l.optDir)}

${cri}]
  sandbox_image = ${q(sandboxImage)}
  # the root user of a VM may lack CAP_SYS_RESOURCE: never lower a process' oom_score_adj below ours
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_tls_streaming = false
  max_container_log_line_size = 16384

${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = ${q(l.runcRoot)}

${cri}.cni]
  bin_dir = ${q(l.cniBinDir)}
  conf_dir = ${q(l.cniConfDir)}
  max_conf_num = 1

${cri}.registry]
  config_path = ${q(l.registryConfigDir)}
`;
}

/** hosts.toml for a registry reached over plain HTTP (or with TLS verification off). */
export function registryHostsToml(server: string, opts: { insecureSkipVerify?: boolean } = {}): string {
  return `server = ${q(server)}

[host.${q(server)}]
  capabilities = ["pull", "resolve"]
${opts.insecureSkipVerify ? '  skip_verify = true\n' : ''}`;
}
