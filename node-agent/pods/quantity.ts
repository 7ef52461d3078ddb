/** Resource quantities as the agent needs them: plain numbers of units (cores, bytes). */
import { parseQuantity as parseExact, milliValue, wholeValue } from '../../lib/kube/quantity.ts';

/** "100m" -> 0.1, "1Gi" -> 1073741824 */
export function parseQuantity(s: string): number {
  return Number(parseExact(s).nanos) / 1e9;
}

export function milliCpu(s: string | undefined): number {
  return s === undefined ? 0 : Number(milliValue(parseExact(s)));
}

export function bytes(s: string | undefined): number {
  return s === undefined ? 0 : Number(wholeValue(parseExact(s)));
}
