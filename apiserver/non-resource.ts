/**
 * The paths that are not resources: /healthz, /livez, /readyz (and their single checks), /metrics, /version,
 * discovery (/api, /apis, /api/v1, /apis/<group>[/<version>], aggregated with the right Accept) and /openapi/v2, /v3.
 */
import type { Discovery } from './discovery.ts';
import { versionInfo, wantsAggregated } from './discovery.ts';
import { runChecks, type Check } from './health.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JSON_TYPE, reply, TEXT } from './http.ts';
import type { ApiMetrics } from './metrics.ts';
import type { OpenApiEndpoints } from './openapi-http.ts';
import type { RequestContext } from './rest/context.ts';
import { sendError } from './rest/responses.ts';
import { pathNotFound } from './rest/status.ts';

const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

export interface NonResourceDeps {
  metrics: ApiMetrics;
  /** the watches open now, for apiserver_longrunning_requests */
  activeWatches: () => number;
  discovery: Discovery;
  openapi: OpenApiEndpoints;
  /** the checks of /healthz, /livez and /readyz */
  checks: Record<'healthz' | 'livez' | 'readyz', Check[]>;
}

export class NonResourceRoutes {
  constructor(private readonly deps: NonResourceDeps) {}

  /** answers the request: its path's answer, or 404 */
  async serve(ctx: RequestContext): Promise<void> {
    if (!(await this.route(ctx.req, ctx.res, ctx.url))) sendError(ctx.res, pathNotFound());
  }

  /** false when no path matches */
  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const p = url.pathname;
    const segs = p.split('/');
    if (HEALTH_PATHS.has(p) || (segs.length === 3 && HEALTH_PATHS.has(`/${segs[1]}`))) {
      await this.health(res, url, segs);
      return true;
    }
    if (p === '/metrics') {
      this.deps.metrics.watchers.set({ verb: 'WATCH' }, this.deps.activeWatches());
      reply(res, 200, this.deps.metrics.registry.contentType, await this.deps.metrics.registry.metrics());
      return true;
    }
    if (p === '/version') {
      reply(res, 200, JSON_TYPE, JSON.stringify(versionInfo()));
      return true;
    }
    if (p.startsWith('/openapi/')) {
      this.deps.openapi.serve(req, res, url);
      return true;
    }
    return this.discovery(req, res, p, segs);
  }

  /** /healthz, /livez, /readyz with every check, or /<endpoint>/<check> with one */
  private async health(res: ServerResponse, url: URL, segs: string[]): Promise<void> {
    const endpoint = segs[1] as keyof NonResourceDeps['checks'];
    let checks = this.deps.checks[endpoint];
    if (segs.length === 3) {
      const c = checks.find((x) => x.name === segs[2]);
      if (!c) {
        reply(res, 404, TEXT, '404 page not found\n');
        return;
      }
      checks = [c];
    }
    const { ok, body } = await runChecks(endpoint, checks, segs.length === 2 && url.searchParams.has('verbose'));
    reply(res, ok ? 200 : 500, TEXT, body);
  }

  private discovery(req: IncomingMessage, res: ServerResponse, p: string, segs: string[]): boolean {
    const discovery = this.deps.discovery;
    if (p === '/api' || p === '/apis') {
      const core = p === '/api';
      const agg = wantsAggregated(req.headers.accept);
      if (agg) {
        const type = `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`;
        reply(res, 200, type, discovery.aggregated(core, agg), { Vary: 'Accept' });
      } else {
        reply(res, 200, JSON_TYPE, core ? discovery.coreVersions() : discovery.groupList(), { Vary: 'Accept' });
      }
      return true;
    }
    let body: string | undefined;
    if (segs[1] === 'api' && segs.length === 3 && segs[2]) body = discovery.resourceList('', segs[2]);
    else if (segs[1] === 'apis' && segs.length === 3 && segs[2]) body = discovery.group(segs[2]);
    else if (segs[1] === 'apis' && segs.length === 4 && segs[2] && segs[3])
      body = discovery.resourceList(segs[2], segs[3]);
    else return false;
    if (body === undefined) sendError(res, pathNotFound());
    else reply(res, 200, JSON_TYPE, body);
    return true;
  }
}
