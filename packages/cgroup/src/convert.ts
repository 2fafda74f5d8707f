/**
 * Unit conversions between cgroup v1 and v2 knobs. The shares → weight and blkio → io weight
 * directions are runc's (and crun's) linear maps; the opposite directions are their exact
 * inverses: `sharesToWeight(weightToShares(w)) === w` for every weight.
 */

/**
 * sharesToWeight maps v1 `cpu.shares` [2, 262144] onto v2 `cpu.weight` [1, 10000] as runc does:
 * `1 + (shares − 2) × 9999 / 262142` (integer division). 1024 shares (v1's default) → 39.
 */
export function sharesToWeight(shares: number): number {
  const s = Math.min(262144, Math.max(2, Math.trunc(shares)));
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/**
 * weightToShares maps v2 `cpu.weight` [1, 10000] onto v1 `cpu.shares`: the smallest share count
 * that {@link sharesToWeight} maps back to `weight`. 100 (v2's default) → 2598.
 */
export function weightToShares(weight: number): number {
  const w = Math.min(10000, Math.max(1, Math.trunc(weight)));
  return 2 + Math.ceil(((w - 1) * 262142) / 9999);
}

/**
 * blkioToIoWeight maps v1 `blkio.weight` [10, 1000] onto v2 `io.weight` [1, 10000] as runc does:
 * `1 + (weight − 10) × 9999 / 990`.
 */
export function blkioToIoWeight(weight: number): number {
  const w = Math.min(1000, Math.max(10, Math.trunc(weight)));
  return 1 + Math.floor(((w - 10) * 9999) / 990);
}

/**
 * ioWeightToBlkio maps v2 `io.weight` [1, 10000] onto v1 `blkio.weight` [10, 1000] (also the
 * scale of `blkio.bfq.weight` and v2's `io.bfq.weight`), to the nearest step, so that
 * `ioWeightToBlkio(blkioToIoWeight(b)) === b`.
 */
export function ioWeightToBlkio(weight: number): number {
  const w = Math.min(10000, Math.max(1, Math.trunc(weight)));
  return 10 + Math.round(((w - 1) * 990) / 9999);
}
