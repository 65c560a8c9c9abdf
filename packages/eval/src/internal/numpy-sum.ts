/**
 * numpy's pairwise summation (`np.add.reduce` on float64), reproduced operation for operation so
 * sums, means and weighted averages equal numpy's to the last bit.
 */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r0 = [a[start]!, a[start + 1]!, a[start + 2]!, a[start + 3]!, a[start + 4]!, a[start + 5]!, a[start + 6]!, a[start + 7]!];
    let i = 8;
    const end = n - (n % 8);
    for (; i < end; i += 8) for (let j = 0; j < 8; j++) r0[j]! += a[start + i + j]!;
    let res = r0[0]! + r0[1]! + (r0[2]! + r0[3]!) + (r0[4]! + r0[5]! + (r0[6]! + r0[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.average(a, weights=w)`: sum(a * w) / sum(w), both pairwise. Without weights: the mean. */
export function npAverage(a: readonly number[], weights?: readonly number[]): number {
  if (weights === undefined) return pairwiseSum(a) / a.length;
  const prod = a.map((x, i) => x * weights[i]!);
  return pairwiseSum(prod) / pairwiseSum(weights);
}
