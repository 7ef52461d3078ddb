/** The API client of every client command: from --kubeconfig, else $KUBECONFIG's first file, else ~/.kube/config. */
import { Client, type ClientOptions } from '../lib/kube/client.ts';
import type { CLIENT_FLAGS } from './flag-tables.ts';
import type { Flags } from './flags.ts';

export function clientFromFlags(f: Flags<typeof CLIENT_FLAGS>, opts: ClientOptions = {}): Promise<Client> {
  // KUBECONFIG is left to the client: a list of files, of which the first that exists counts
  return Client.fromKubeconfig(f.kubeconfig || undefined, opts);
}
