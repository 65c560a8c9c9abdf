/** A sparse row: sorted column indices and their values. */
export interface SparseRow {
  indices: Int32Array;
  values: Float32Array;
}

/** A sparse matrix as rows, with its column count. */
export interface SparseMatrix {
  rows: SparseRow[];
  cols: number;
}

/** Builds a sparse row from a map of column -> value (sorted by column, zeros dropped). */
export function sparseFromMap(m: Map<number, number>): SparseRow {
  const keys = [...m.keys()].filter((k) => m.get(k) !== 0).sort((a, b) => a - b);
  return { indices: Int32Array.from(keys), values: Float32Array.from(keys.map((k) => m.get(k)!)) };
}

/** Concatenates sparse rows side by side, shifting each part's columns by its offset. */
export function hstack(parts: ReadonlyArray<{ row: SparseRow; offset: number }>): SparseRow {
  const n = parts.reduce((a, p) => a + p.row.indices.length, 0);
  const indices = new Int32Array(n);
  const values = new Float32Array(n);
  let k = 0;
  for (const p of parts) {
    for (let i = 0; i < p.row.indices.length; i++) {
      indices[k] = p.row.indices[i]! + p.offset;
      values[k] = p.row.values[i]!;
      k++;
    }
  }
  return { indices, values };
}
