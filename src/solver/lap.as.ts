// AssemblyScript kernel of the exact rectangular linear assignment solver, compiled to WebAssembly by
// scripts/build-wasm.js. It must stay step-for-step identical to src/solver/shortest-augmenting-path.ts:
// both do the same f64 operations in the same order, so the two paths return the same assignment bit for bit.
//
// Protocol (see src/solver/wasm-linear-assignment.ts): reserve() lays out memory for one problem and returns
// where the caller writes the row-major rows×cols costs (f32 or f64); solve() then writes, for every original
// row, its column or -1 at resultPointer().
//
// Algorithm: LAPJV-style initialisation (column reduction and reduction transfer for square problems,
// a bounded augmenting row reduction for all), then Crouse's shortest augmenting path (scipy's algorithm) for
// the rows still free. Reads of the cost matrix dominate the time, so every pass reads rows front to back:
// the Dijkstra keeps its unscanned columns in ascending order (shifting, not swapping, on removal; swapping
// measured ~20% slower) in one packed array of entries.

const STATUS_OK: i32 = 0;
const STATUS_NON_FINITE: i32 = 1;
const STATUS_OVERFLOW: i32 = 2;

/**
 * Row scans the augmenting row reduction may spend, per row of the problem. Measured on 1024–2048 uniform and
 * weight-matching costs: 0 → 1.1–1.4× slower, 1 → ~1.15×, 2 ≈ 8 ≈ 4 (the choice); uncapped ARR is pathological.
 */
const ARR_SCANS_PER_ROW: i32 = 4;

// The shortest-path search keeps one entry per unscanned column, in ascending column order, packed so its
// hot loop walks a single pointer: distance (f64), the column's v (f64), column (i32), predecessor row (i32).
const ENTRY_BYTES: u64 = 24;
const ENTRY_DIST: usize = 0;
const ENTRY_V: usize = 8;
const ENTRY_COL: usize = 16;
const ENTRY_PATH: usize = 20;

let originalRows: i32 = 0;
let originalCols: i32 = 0;
let transposed: bool = false;
let nr: i32 = 0;
let nc: i32 = 0;

let inputPtr: usize = 0;
let costPtr: usize = 0;
let uPtr: usize = 0;
let vPtr: usize = 0;
let pathPtr: usize = 0;
let row4colPtr: usize = 0;
let col4rowPtr: usize = 0;
let entriesPtr: usize = 0;
let scannedPtr: usize = 0;
let scannedDistPtr: usize = 0;
let freePtr: usize = 0;
let outPtr: usize = 0;

@inline function align64(x: u64): u64 {
  return (x + 63) & ~(<u64>63);
}

@inline function f64At(base: usize, index: i32): f64 {
  return load<f64>(base + ((<usize>index) << 3));
}

@inline function setF64(base: usize, index: i32, value: f64): void {
  store<f64>(base + ((<usize>index) << 3), value);
}

@inline function i32At(base: usize, index: i32): i32 {
  return load<i32>(base + ((<usize>index) << 2));
}

@inline function setI32(base: usize, index: i32, value: i32): void {
  store<i32>(base + ((<usize>index) << 2), value);
}

@inline function costAt<T>(rowBase: usize, col: i32): f64 {
  return <f64>load<T>(rowBase + ((<usize>col) << alignof<T>()));
}

@inline function rowBase<T>(row: i32): usize {
  return costPtr + ((<usize>row * <usize>nc) << alignof<T>());
}

/**
 * Lays out memory for a rows×cols problem with elemBytes-wide costs and grows it as needed. Returns the byte
 * offset where the caller writes the costs, or 0 when the memory cannot grow that far.
 */
export function reserve(rows: i32, cols: i32, elemBytes: i32): usize {
  originalRows = rows;
  originalCols = cols;
  transposed = rows > cols;
  nr = transposed ? cols : rows;
  nc = transposed ? rows : cols;
  const matrixBytes: u64 = <u64>rows * <u64>cols * <u64>elemBytes;
  let p: u64 = align64(<u64>__heap_base);
  const cost = p;
  p = align64(p + matrixBytes);
  let input = cost;
  if (transposed) {
    input = p;
    p = align64(p + matrixBytes);
  }
  const u = p;
  p = align64(p + <u64>nr * 8);
  const v = p;
  p = align64(p + <u64>nc * 8);
  const path = p;
  p = align64(p + <u64>nc * 4);
  const row4col = p;
  p = align64(p + <u64>nc * 4);
  const col4row = p;
  p = align64(p + <u64>nr * 4);
  const entries = p;
  p = align64(p + <u64>(nc + 1) * ENTRY_BYTES);
  const scanned = p;
  p = align64(p + <u64>nc * 4);
  const scannedDist = p;
  p = align64(p + <u64>nc * 8);
  const free = p;
  p = align64(p + <u64>nr * 4);
  const out = p;
  p = align64(p + <u64>rows * 4);
  const pagesNeeded: u64 = (p + 0xffff) >> 16;
  if (pagesNeeded > 65536) return 0;
  const pagesHeld = <u64>memory.size();
  if (pagesNeeded > pagesHeld && memory.grow(<i32>(pagesNeeded - pagesHeld)) < 0) return 0;
  costPtr = <usize>cost;
  inputPtr = <usize>input;
  uPtr = <usize>u;
  vPtr = <usize>v;
  pathPtr = <usize>path;
  row4colPtr = <usize>row4col;
  col4rowPtr = <usize>col4row;
  entriesPtr = <usize>entries;
  scannedPtr = <usize>scanned;
  scannedDistPtr = <usize>scannedDist;
  freePtr = <usize>free;
  outPtr = <usize>out;
  return inputPtr;
}

/** Where solve() leaves the column of each original row (-1: unassigned). */
export function resultPointer(): usize {
  return outPtr;
}

/**
 * Solves the problem written at reserve()'s offset. Returns 0; 1 when a cost is NaN or infinite; 2 when the
 * dual arithmetic overflowed (finite costs near ±f64 max).
 */
export function solve(isF32: bool, maximize: bool): i32 {
  return isF32 ? solveTyped<f32>(maximize) : solveTyped<f64>(maximize);
}

function solveTyped<T>(maximize: bool): i32 {
  if (maximize) negateInput<T>();
  if (transposed) transposeInput<T>();
  for (let j = 0; j < nc; j++) setI32(row4colPtr, j, -1);
  for (let i = 0; i < nr; i++) setI32(col4rowPtr, i, -1);
  let numFree: i32 = 0;
  if (nr > 0) {
    const finite = nr === nc ? columnReduction<T>() : zeroDualsCheckingFinite<T>();
    if (!finite) return STATUS_NON_FINITE;
    for (let i = 0; i < nr; i++) {
      if (i32At(col4rowPtr, i) < 0) setI32(freePtr, numFree++, i);
    }
    numFree = augmentingRowReduction<T>(numFree);
    if (!shortestAugmentingPaths<T>(numFree)) return STATUS_OVERFLOW;
  }
  writeResult();
  return STATUS_OK;
}

function negateInput<T>(): void {
  const count = <usize>originalRows * <usize>originalCols;
  for (let k: usize = 0; k < count; k++) {
    const at = inputPtr + (k << alignof<T>());
    store<T>(at, -load<T>(at));
  }
}

// Blocked so that both the rows read and the rows written stay in cache.
function transposeInput<T>(): void {
  const block = 32;
  for (let i0 = 0; i0 < originalRows; i0 += block) {
    const iEnd = min(i0 + block, originalRows);
    for (let j0 = 0; j0 < originalCols; j0 += block) {
      const jEnd = min(j0 + block, originalCols);
      for (let i = i0; i < iEnd; i++) {
        const src = inputPtr + ((<usize>i * <usize>originalCols) << alignof<T>());
        for (let j = j0; j < jEnd; j++) {
          store<T>(
            costPtr + ((<usize>j * <usize>originalRows + <usize>i) << alignof<T>()),
            load<T>(src + ((<usize>j) << alignof<T>())),
          );
        }
      }
    }
  }
}

// Square problems: v[j] = min of column j (read row by row), and each column goes to its minimising row when
// that row is still free. Reduction transfer then lowers v of each singly assigned column so its row's
// implicit dual absorbs the gap to that row's second-best column. Also detects non-finite costs for free.
function columnReduction<T>(): bool {
  const n = nc;
  for (let j = 0; j < n; j++) {
    setF64(vPtr, j, Infinity);
    setI32(pathPtr, j, 0);
  }
  let nonFinite = false;
  for (let i = 0; i < n; i++) {
    const base = rowBase<T>(i);
    for (let j = 0; j < n; j++) {
      const x = costAt<T>(base, j);
      nonFinite = nonFinite | (x - x != 0);
      if (x < f64At(vPtr, j)) {
        setF64(vPtr, j, x);
        setI32(pathPtr, j, i);
      }
    }
  }
  if (nonFinite) return false;
  // scanned[] doubles as "row claimed by more than one column" here.
  for (let i = 0; i < n; i++) setI32(scannedPtr, i, 0);
  let assigned: i32 = 0;
  for (let j = 0; j < n; j++) {
    const i = i32At(pathPtr, j);
    if (i32At(col4rowPtr, i) < 0) {
      setI32(col4rowPtr, i, j);
      setI32(row4colPtr, j, i);
      assigned++;
    } else {
      setI32(scannedPtr, i, 1);
    }
  }
  if (assigned < n - assigned) {
    discardColumnReduction();
    return true;
  }
  for (let i = 0; i < n; i++) {
    const j1 = i32At(col4rowPtr, i);
    if (j1 < 0 || i32At(scannedPtr, i) !== 0) continue;
    const base = rowBase<T>(i);
    let mu = Infinity;
    for (let j = 0; j < j1; j++) {
      const h = costAt<T>(base, j) - f64At(vPtr, j);
      if (h < mu) mu = h;
    }
    for (let j = j1 + 1; j < n; j++) {
      const h = costAt<T>(base, j) - f64At(vPtr, j);
      if (h < mu) mu = h;
    }
    if (mu < Infinity) setF64(vPtr, j1, f64At(vPtr, j1) - mu);
  }
  return true;
}

// When column minima pile up on few rows (under half the rows get a column: low-rank or structured costs,
// unlike i.i.d. ones at ~63%), the column duals mislead the searches: on rank-1..16 products starting from
// v = 0 instead ran 1.1-2.2× faster, while i.i.d. uniform costs ran 1.6× slower. So those start over from zero.
function discardColumnReduction(): void {
  for (let j = 0; j < nc; j++) {
    setF64(vPtr, j, 0);
    setI32(row4colPtr, j, -1);
  }
  for (let i = 0; i < nr; i++) setI32(col4rowPtr, i, -1);
}

// Rectangular problems (rows < cols) start from v = 0: every column an optimal solution may leave unassigned
// must keep the largest v, and only columns that get assigned are ever lowered afterwards.
function zeroDualsCheckingFinite<T>(): bool {
  for (let j = 0; j < nc; j++) setF64(vPtr, j, 0);
  let nonFinite = false;
  const count = <usize>nr * <usize>nc;
  for (let k: usize = 0; k < count; k++) {
    const x = <f64>load<T>(costPtr + (k << alignof<T>()));
    nonFinite = nonFinite | (x - x != 0);
  }
  return !nonFinite;
}

// JV's augmenting row reduction, two passes over the free rows, but capped at ARR_SCANS_PER_ROW·rows row scans
// in all: on near-degenerate costs the uncapped version keeps bouncing rows between two columns with tiny dual
// decrements. Invariant kept: every assigned row's column minimises cost - v over its row. Returns how many
// rows are still free (listed at the front of free[]).
function augmentingRowReduction<T>(numFree: i32): i32 {
  let budget: i32 = ARR_SCANS_PER_ROW * nr;
  for (let pass = 0; pass < 2; pass++) {
    let k: i32 = 0;
    const previousFree = numFree;
    numFree = 0;
    while (k < previousFree) {
      if (budget === 0) {
        // Out of scans: keep the unprocessed rows free for the augmenting paths.
        while (k < previousFree) setI32(freePtr, numFree++, i32At(freePtr, k++));
        return numFree;
      }
      budget--;
      const i = i32At(freePtr, k++);
      const base = rowBase<T>(i);
      let u1 = costAt<T>(base, 0) - f64At(vPtr, 0);
      let j1: i32 = 0;
      let u2 = Infinity;
      let j2: i32 = -1;
      // Lowest-index unassigned column among those at the minimum u1, or -1.
      let jFree: i32 = i32At(row4colPtr, 0) < 0 ? 0 : -1;
      for (let j = 1; j < nc; j++) {
        const h = costAt<T>(base, j) - f64At(vPtr, j);
        if (h < u2) {
          if (h >= u1) {
            u2 = h;
            j2 = j;
            if (h == u1 && jFree < 0 && i32At(row4colPtr, j) < 0) jFree = j;
          } else {
            u2 = u1;
            j2 = j1;
            u1 = h;
            j1 = j;
            jFree = i32At(row4colPtr, j) < 0 ? j : -1;
          }
        } else if (h == u1 && jFree < 0 && i32At(row4colPtr, j) < 0) {
          jFree = j;
        }
      }
      if (u1 - u1 != 0) {
        // The duals overflowed: leave this and the remaining rows to the augmenting paths, which report it.
        budget = 0;
        k--;
        continue;
      }
      let i0 = i32At(row4colPtr, j1);
      const strictlyBest = u1 < u2;
      if (strictlyBest) {
        setF64(vPtr, j1, f64At(vPtr, j1) - (u2 - u1));
      } else if (i0 >= 0 && jFree >= 0) {
        // Tied with an unassigned column: take it rather than evict the holder of j1.
        j1 = jFree;
        i0 = -1;
      } else if (i0 >= 0) {
        j1 = j2;
        i0 = i32At(row4colPtr, j2);
      }
      setI32(row4colPtr, j1, i);
      setI32(col4rowPtr, i, j1);
      if (i0 >= 0) {
        setI32(col4rowPtr, i0, -1);
        if (strictlyBest) setI32(freePtr, --k, i0);
        else setI32(freePtr, numFree++, i0);
      }
    }
  }
  return numFree;
}

// Crouse's shortest augmenting path from each free row, with explicit duals u (rows) and v (columns).
// Unscanned columns stay in ascending order so each row is read front to back; on equal distances an
// unassigned column wins, then the lowest index.
function shortestAugmentingPaths<T>(numFree: i32): bool {
  for (let i = 0; i < nr; i++) {
    const j = i32At(col4rowPtr, i);
    setF64(uPtr, i, j >= 0 ? costAt<T>(rowBase<T>(i), j) - f64At(vPtr, j) : 0);
  }
  for (let f = 0; f < numFree; f++) {
    const curRow = i32At(freePtr, f);
    for (let j = 0; j < nc; j++) {
      const entry = entriesPtr + <usize>j * <usize>ENTRY_BYTES;
      store<f64>(entry, Infinity, ENTRY_DIST);
      store<f64>(entry, f64At(vPtr, j), ENTRY_V);
      store<i32>(entry, j, ENTRY_COL);
    }
    writeSentinel(entriesPtr + <usize>nc * <usize>ENTRY_BYTES);
    let numRemaining = nc;
    let numScanned: i32 = 0;
    let minVal: f64 = 0;
    let i = curRow;
    let sink: i32 = -1;
    while (sink < 0) {
      let best: usize = 0;
      let lowest = Infinity;
      let lowestFree = false;
      const base = rowBase<T>(i);
      const h = minVal - f64At(uPtr, i);
      // Two entries per iteration (more independent loads in flight); the sentinel pads an odd count.
      const end = entriesPtr + <usize>numRemaining * <usize>ENTRY_BYTES;
      for (let entry = entriesPtr; entry < end; entry += 2 * <usize>ENTRY_BYTES) {
        const d0 = relaxEntry<T>(entry, base, h, i);
        if (d0 <= lowest) {
          const free0 = i32At(row4colPtr, load<i32>(entry, ENTRY_COL)) < 0;
          if (d0 < lowest || (free0 && !lowestFree)) {
            lowest = d0;
            best = entry;
            lowestFree = free0;
          }
        }
        const second = entry + <usize>ENTRY_BYTES;
        const d1 = relaxEntry<T>(second, base, h, i);
        if (d1 <= lowest) {
          const free1 = i32At(row4colPtr, load<i32>(second, ENTRY_COL)) < 0;
          if (d1 < lowest || (free1 && !lowestFree)) {
            lowest = d1;
            best = second;
            lowestFree = free1;
          }
        }
      }
      // Finite costs give finite distances unless the dual arithmetic overflowed.
      if (best === 0 || lowest - lowest != 0) return false;
      minVal = lowest;
      const j = load<i32>(best, ENTRY_COL);
      if (lowestFree) sink = j;
      else i = i32At(row4colPtr, j);
      setI32(pathPtr, j, load<i32>(best, ENTRY_PATH));
      setI32(scannedPtr, numScanned, j);
      setF64(scannedDistPtr, numScanned++, lowest);
      numRemaining--;
      // Shifts the later entries and the sentinel down over the scanned one.
      memory.copy(best, best + <usize>ENTRY_BYTES, end - best);
    }
    setF64(uPtr, curRow, f64At(uPtr, curRow) + minVal);
    for (let s = 0; s < numScanned; s++) {
      const j = i32At(scannedPtr, s);
      const gap = minVal - f64At(scannedDistPtr, s);
      if (j !== sink) {
        const row = i32At(row4colPtr, j);
        setF64(uPtr, row, f64At(uPtr, row) + gap);
      }
      setF64(vPtr, j, f64At(vPtr, j) - gap);
    }
    let j = sink;
    while (true) {
      const row = i32At(pathPtr, j);
      setI32(row4colPtr, j, row);
      const previous = i32At(col4rowPtr, row);
      setI32(col4rowPtr, row, j);
      if (row === curRow) break;
      j = previous;
    }
  }
  return true;
}

// A NaN distance fails every comparison, so the sentinel is never updated nor selected.
function writeSentinel(entry: usize): void {
  store<f64>(entry, NaN, ENTRY_DIST);
  store<f64>(entry, 0, ENTRY_V);
  store<i32>(entry, 0, ENTRY_COL);
}

// Relaxes one unscanned column through row i: distance h + cost - v, keeping the smaller and its predecessor.
@inline function relaxEntry<T>(entry: usize, base: usize, h: f64, i: i32): f64 {
  const r = h + costAt<T>(base, load<i32>(entry, ENTRY_COL)) - load<f64>(entry, ENTRY_V);
  const d = load<f64>(entry, ENTRY_DIST);
  if (r < d) {
    store<f64>(entry, r, ENTRY_DIST);
    store<i32>(entry, i, ENTRY_PATH);
    return r;
  }
  return d;
}

function writeResult(): void {
  if (transposed) {
    for (let i = 0; i < originalRows; i++) setI32(outPtr, i, i32At(row4colPtr, i));
  } else {
    for (let i = 0; i < originalRows; i++) setI32(outPtr, i, i32At(col4rowPtr, i));
  }
}
