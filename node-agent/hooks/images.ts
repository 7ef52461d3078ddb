/** The images every node needs (pause, busybox), built here from the host's packages when the runtime lacks them. */
import {
  buildBusyboxImage,
  buildPauseImage,
  busyboxImageName,
  busyboxShortName,
  importImage,
  PAUSE_IMAGE,
} from '../images/builtin.ts';
import type { BuiltImage } from '../images/oci.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class ImagesHook implements Hook {
  readonly name = 'images';

  constructor(private readonly s: AgentState) {}

  async start(): Promise<void> {
    const need: [string[], (dir: string) => BuiltImage][] = [
      [[PAUSE_IMAGE], buildPauseImage],
      [[busyboxImageName(), busyboxShortName()], buildBusyboxImage],
    ];
    for (const [names, build] of need) {
      const present = await Promise.all(names.map((n) => this.s.cri.imageStatus(n)));
      if (present.every(Boolean)) continue;
      const t0 = Date.now();
      const built = build(this.s.dir('images'));
      importImage(this.s.criSocket, built.file);
      this.s.log(`image ${names[0]} built and imported in ${Date.now() - t0} ms`);
    }
  }

  async stop(): Promise<void> {
    // the images stay for the next start
  }
}
