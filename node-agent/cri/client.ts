/**
 * A CRI v1 client over containerd's unix socket (@grpc/grpc-js + @grpc/proto-loader). Every call has a deadline, so
 * a stuck runtime shows up as an error naming the call instead of a hung pod worker.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  Container,
  ContainerConfig,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  Image,
  LinuxContainerResources,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxStatus,
  RuntimeCondition,
  SandboxState,
} from './types.ts';

const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), 'runtime.proto');

let loaded: grpc.GrpcObject | undefined;
function services(): { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } {
  if (!loaded) {
    const def = protoLoader.loadSync(PROTO, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    loaded = grpc.loadPackageDefinition(def);
  }
  const v1 = (loaded.runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return {
    RuntimeService: v1.RuntimeService as grpc.ServiceClientConstructor,
    ImageService: v1.ImageService as grpc.ServiceClientConstructor,
  };
}

/** A failed CRI call: the call's name, the gRPC status code and the runtime's message. */
export class CriError extends Error {
  constructor(
    readonly call: string,
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`CRI ${call}: ${details || grpc.status[code]}`);
  }
  get notFound(): boolean {
    return this.code === grpc.status.NOT_FOUND;
  }
}

export function isCriNotFound(e: unknown): boolean {
  return e instanceof CriError && e.notFound;
}

export interface CriClientOptions {
  /** Default deadline of a call in ms (pulls and stops get their own). */
  timeoutMs?: number;
}

type Unary = (
  req: unknown,
  meta: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;

export class CriClient {
  private readonly runtime: grpc.Client;
  private readonly images: grpc.Client;
  private readonly timeoutMs: number;

  constructor(
    readonly socket: string,
    opts: CriClientOptions = {},
  ) {
    const { RuntimeService, ImageService } = services();
    const target = socket.startsWith('unix:') ? socket : `unix://${socket}`;
    const creds = grpc.credentials.createInsecure();
    const channelOpts = { 'grpc.max_receive_message_length': 16 * 1024 * 1024 };
    this.runtime = new RuntimeService(target, creds, channelOpts);
    // one channel for both services
    this.images = new ImageService(target, creds, { ...channelOpts, channelOverride: this.runtime.getChannel() });
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  close(): void {
    this.images.close();
    this.runtime.close();
  }

  private call<T>(client: grpc.Client, method: string, req: object, timeoutMs = this.timeoutMs): Promise<T> {
    const fn = (client as unknown as Record<string, Unary>)[method];
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(new CriError(method, err.code, err.details));
        else resolve(res as T);
      });
    });
  }

  private rt<T>(method: string, req: object, timeoutMs?: number): Promise<T> {
    return this.call<T>(this.runtime, method, req, timeoutMs);
  }

  // ---- runtime

  version(): Promise<{ version: string; runtime_name: string; runtime_version: string; runtime_api_version: string }> {
    return this.rt('Version', { version: 'v1' });
  }

  async status(): Promise<RuntimeCondition[]> {
    const r = await this.rt<{ status: { conditions: RuntimeCondition[] } | null }>('Status', {});
    return r.status?.conditions ?? [];
  }

  async runPodSandbox(config: PodSandboxConfig, timeoutMs = 120_000): Promise<string> {
    const r = await this.rt<{ pod_sandbox_id: string }>('RunPodSandbox', { config }, timeoutMs);
    return r.pod_sandbox_id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.rt('StopPodSandbox', { pod_sandbox_id: id }, 120_000);
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.rt('RemovePodSandbox', { pod_sandbox_id: id }, 120_000);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const r = await this.rt<{ status: PodSandboxStatus }>('PodSandboxStatus', { pod_sandbox_id: id });
    return r.status;
  }

  async listPodSandbox(
    filter: { id?: string; state?: SandboxState; labels?: Record<string, string> } = {},
  ): Promise<PodSandbox[]> {
    const r = await this.rt<{ items: PodSandbox[] }>('ListPodSandbox', {
      filter: {
        id: filter.id ?? '',
        state: filter.state ? { state: filter.state } : null,
        label_selector: filter.labels ?? {},
      },
    });
    return r.items;
  }

  async createContainer(sandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const r = await this.rt<{ container_id: string }>(
      'CreateContainer',
      { pod_sandbox_id: sandboxId, config, sandbox_config: sandboxConfig },
      120_000,
    );
    return r.container_id;
  }

  async startContainer(id: string): Promise<void> {
    await this.rt('StartContainer', { container_id: id }, 120_000);
  }

  /** Stops with SIGTERM, then SIGKILL after timeoutSeconds. */
  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.rt(
      'StopContainer',
      { container_id: id, timeout: String(Math.max(0, Math.floor(timeoutSeconds))) },
      (timeoutSeconds + 30) * 1000,
    );
  }

  async removeContainer(id: string): Promise<void> {
    await this.rt('RemoveContainer', { container_id: id }, 60_000);
  }

  async listContainers(
    filter: { id?: string; sandboxId?: string; state?: ContainerState; labels?: Record<string, string> } = {},
  ): Promise<Container[]> {
    const r = await this.rt<{ containers: Container[] }>('ListContainers', {
      filter: {
        id: filter.id ?? '',
        pod_sandbox_id: filter.sandboxId ?? '',
        state: filter.state ? { state: filter.state } : null,
        label_selector: filter.labels ?? {},
      },
    });
    return r.containers;
  }

  async containerStatus(
    id: string,
    verbose = false,
  ): Promise<{ status: ContainerStatus; info: Record<string, string> }> {
    return this.rt('ContainerStatus', { container_id: id, verbose });
  }

  async updateContainerResources(id: string, linux: LinuxContainerResources): Promise<void> {
    await this.rt('UpdateContainerResources', { container_id: id, linux });
  }

  async reopenContainerLog(id: string): Promise<void> {
    await this.rt('ReopenContainerLog', { container_id: id });
  }

  /** Runs a command to completion; the gRPC deadline is a little past the runtime's own timeout. */
  async execSync(
    id: string,
    cmd: string[],
    timeoutSeconds: number,
  ): Promise<{ stdout: Buffer; stderr: Buffer; exit_code: number }> {
    return this.rt('ExecSync', { container_id: id, cmd, timeout: String(timeoutSeconds) }, (timeoutSeconds + 2) * 1000);
  }

  async exec(req: {
    container_id: string;
    cmd: string[];
    tty: boolean;
    stdin: boolean;
    stdout: boolean;
    stderr: boolean;
  }): Promise<string> {
    return (await this.rt<{ url: string }>('Exec', req)).url;
  }

  async attach(req: {
    container_id: string;
    stdin: boolean;
    tty: boolean;
    stdout: boolean;
    stderr: boolean;
  }): Promise<string> {
    return (await this.rt<{ url: string }>('Attach', req)).url;
  }

  async portForward(sandboxId: string, ports: number[]): Promise<string> {
    return (await this.rt<{ url: string }>('PortForward', { pod_sandbox_id: sandboxId, port: ports })).url;
  }

  async listContainerStats(filter: { sandboxId?: string } = {}): Promise<ContainerStats[]> {
    const r = await this.rt<{ stats: ContainerStats[] }>('ListContainerStats', {
      filter: { id: '', pod_sandbox_id: filter.sandboxId ?? '', label_selector: {} },
    });
    return r.stats;
  }

  async updatePodCidr(cidr: string): Promise<void> {
    await this.rt('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: cidr } } });
  }

  // ---- images

  async listImages(): Promise<Image[]> {
    return (await this.call<{ images: Image[] }>(this.images, 'ListImages', { filter: null })).images;
  }

  /** The image when present, else null. */
  async imageStatus(image: string): Promise<Image | null> {
    const r = await this.call<{ image: Image | null }>(this.images, 'ImageStatus', { image: { image } });
    return r.image && r.image.id ? r.image : null;
  }

  async pullImage(image: string, timeoutMs = 600_000): Promise<string> {
    return (await this.call<{ image_ref: string }>(this.images, 'PullImage', { image: { image } }, timeoutMs))
      .image_ref;
  }

  async removeImage(image: string): Promise<void> {
    await this.call(this.images, 'RemoveImage', { image: { image } });
  }
}
