/** What every client command of skiff accepts: --kubeconfig (or KUBECONFIG, then ~/.kube/config). */
import { Client, type ClientOptions } from '../lib/kube/client.ts';
import type { FlagSpec } from './flags.ts';

export const KUBECONFIG_FLAG: FlagSpec = {
  name: 'kubeconfig',
  help: 'kubeconfig file with the API server and credentials (default: $KUBECONFIG, then ~/.kube/config)',
};

export function clientFromFlags(f: Record<string, string>, opts: ClientOptions = {}): Promise<Client> {
  return Client.fromKubeconfig(f.kubeconfig || undefined, opts);
}
