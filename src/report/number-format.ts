/** Number formatting shared by the report and the model card; non-finite values (a broken run) stay visible. */

export function formatNumber(value: number, digits = 4): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  const abs = Math.abs(value);
  const text =
    abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? value.toExponential(digits - 1) : value.toFixed(digits);
  return text.replace('-', '−');
}

/** A difference with its sign always shown, so an improvement (negative: lower is better) reads at a glance. */
export function formatDelta(value: number, digits = 4): string {
  const text = formatNumber(value, digits);
  return value > 0 ? `+${text}` : text;
}

export function formatLambda(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : formatNumber(value);
}

export function formatPercent(fraction: number, digits = 2): string {
  return Number.isFinite(fraction) ? `${(100 * fraction).toFixed(digits)}%` : formatNumber(fraction);
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return formatNumber(seconds);
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** The first characters of a hex digest: enough to tell maps and states apart in a table. */
export function abbreviateHash(hash: string, length = 8): string {
  return hash.length > length ? hash.slice(0, length) : hash;
}

/** A correlation coefficient, two decimals: −0.62, 0.05, and 0.00 rather than −0.00. */
export function formatCorrelation(rho: number): string {
  if (!Number.isFinite(rho)) return formatNumber(rho);
  const text = rho.toFixed(2);
  return /^-0\.00$/.test(text) ? '0.00' : text.replace('-', '−');
}
