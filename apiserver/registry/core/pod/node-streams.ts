/**
 * pods/log, exec, attach and portforward are served by the pod's node agent: the node proxy forwards them
 * (nodeproxy/proxy.ts). A log streams through as it comes; exec, attach and port-forward are upgrades, and a plain
 * request for them is answered 503.
 */
import type { NodeProxy } from '../../../nodeproxy/proxy.ts';
import { sendError } from '../../../rest/responses.ts';
import { serviceUnavailable } from '../../../rest/status.ts';
import type { Subresource } from '../../../rest/subresource.ts';

export function logSubresource(proxy: NodeProxy): Subresource {
  return {
    streams: true,
    async serve(s) {
      const { req, res, url } = s.ctx;
      try {
        await proxy.log(req, res, url, s.namespace, s.name);
      } catch (err) {
        // once the log streams, an error can only end it
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
      }
    },
  };
}

export function upgradeSubresource(proxy: NodeProxy, sub: 'exec' | 'attach' | 'portforward'): Subresource {
  return {
    async serve(s) {
      const r = s.resource.info.resource;
      throw serviceUnavailable(`${r}/${sub} is served by the node agent, which is not reachable for ${r} "${s.name}"`);
    },
    upgrade(req, socket, head, url, namespace, name) {
      proxy.upgrade(req, socket, head, url, namespace, name, sub);
    },
  };
}
