/** PodMetrics and NodeMetrics (metrics.k8s.io) every 15 s from CRI container stats, for kubectl top and the HPA. */
import { MetricsReporter } from '../metrics/reporter.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class MetricsHook implements Hook {
  readonly name = 'metrics';
  private metrics?: MetricsReporter;

  constructor(private readonly s: AgentState) {}

  async start(): Promise<void> {
    const { s } = this;
    this.metrics = new MetricsReporter(
      s.options.client,
      s.cri,
      s.nodeName,
      (ns, name) => s.informers.pods.getByName(ns, name),
      s.log,
    );
    this.metrics.start();
  }

  async stop(): Promise<void> {
    this.metrics?.stop();
  }

  abandon(): void {
    this.metrics?.stop();
  }
}
