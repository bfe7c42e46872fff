/** `[#####-----]  5/10  ETA 12s`: a text progress bar with an estimate from the rate so far. */
export function progressBar(
  done: number,
  total: number,
  startedMs: number,
  nowMs: number,
  width = 24,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const elapsed = (nowMs - startedMs) / 1000;
  const eta = done > 0 && done < total ? ` ETA ${formatSeconds((elapsed / done) * (total - done))}` : '';
  return `${bar} ${done}/${total}${eta}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds - minutes * 60)).padStart(2, '0')}s`;
}
