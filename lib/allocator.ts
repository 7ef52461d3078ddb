/**
 * The memory allocator bin/with-allocator chose for this process (jemalloc when installed). It is loaded through
 * LD_PRELOAD, which every child would inherit: containerd, runc, iptables, the CNI plugins and benchmark references
 * must run as they would without skiff, so the entry is taken out of the environment once this process has it.
 */

/** the preloaded allocator library, or undefined for the system's allocator */
export let allocator: string | undefined;

/** remove the launcher's LD_PRELOAD entry (named by SKIFF_PRELOAD) from env; returns that library */
export function keepAllocatorToSelf(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const lib = env.SKIFF_PRELOAD;
  if (!lib) return undefined;
  delete env.SKIFF_PRELOAD;
  const rest = (env.LD_PRELOAD ?? '').split(/[\s:]+/).filter((p) => p && p !== lib);
  if (rest.length > 0) env.LD_PRELOAD = rest.join(':');
  else delete env.LD_PRELOAD;
  if (env === process.env) allocator = lib;
  return lib;
}
