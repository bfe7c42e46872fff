import type { ZooEntry, ZooMetric } from './zoo-manifest.js';

/** The metric listings show: the first one recorded (the command's first `--eval` source). */
export function headlineMetric(
  entry: ZooEntry,
): { readonly source: string; readonly metric: ZooMetric } | undefined {
  const first = Object.entries(entry.metrics)[0];
  return first === undefined ? undefined : { source: first[0], metric: first[1] };
}

/** Widths in network order, `784-256-10`: the shape of the network at a glance. */
export function widthsSummary(entry: ZooEntry): string {
  return entry.readable ? Object.values(entry.widths).join('-') : '-';
}

function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/**
 * `mal zoo ls`: one row per model; an unreadable model's reason goes in the last column, whole. `statuses`, one
 * per entry, is what a check of the files found now (zooEntryStatus); without it the manifest's word is shown.
 */
export function zooTable(entries: readonly ZooEntry[], statuses?: readonly string[]): string[] {
  const rows = entries.map((entry, index) => {
    const headline = headlineMetric(entry);
    return [
      entry.id,
      entry.readable ? entry.family : '?',
      widthsSummary(entry),
      entry.dataset ?? '-',
      headline === undefined ? '-' : headline.metric.accuracy.toFixed(4),
      headline === undefined ? '-' : headline.source,
      statuses?.[index] ?? (entry.readable ? 'readable' : `unreadable: ${entry.reason}`),
    ];
  });
  return formatTable(['ID', 'FAMILY', 'WIDTHS', 'DATASET', 'ACCURACY', 'ON', 'STATUS'], rows);
}

/** `mal zoo show`: every field of one entry, one per line. */
export function zooEntryLines(entry: ZooEntry, absolutePath: string): string[] {
  const lines = [
    `id:        ${entry.id}`,
    `path:      ${entry.path}${absolutePath === entry.path ? '' : ` (${absolutePath})`}`,
    `sha256:    ${entry.sha256}`,
  ];
  if (entry.readable) {
    lines.push(`family:    ${entry.family}`);
    lines.push(
      `widths:    ${Object.entries(entry.widths)
        .map(([space, width]) => `${space}=${width}`)
        .join(', ')}`,
    );
  } else {
    lines.push('readable:  no');
    lines.push(`reason:    ${entry.reason}`);
  }
  if (entry.dataset !== undefined) lines.push(`dataset:   ${entry.dataset}`);
  if (entry.classes !== undefined) lines.push(`classes:   ${entry.classes.join(', ')}`);
  if (entry.seed !== undefined) lines.push(`seed:      ${entry.seed}`);
  const metrics = Object.entries(entry.metrics);
  lines.push(
    metrics.length === 0
      ? 'metrics:   none recorded'
      : 'metrics (accuracy: higher is better; loss, mean cross-entropy: lower is better):',
  );
  for (const [source, metric] of metrics) {
    const examples = metric.examples === undefined ? '' : ` on ${metric.examples} examples`;
    lines.push(
      `  ${source}: accuracy ${metric.accuracy.toFixed(4)}, loss ${metric.loss.toFixed(4)}${examples}`,
    );
  }
  const p = entry.provenance;
  if (p.kind === 'trained') {
    lines.push(
      `provenance: trained by '${p.command}' at ${p.at} in ${p.seconds.toFixed(1)} s${p.backend === undefined ? '' : ` (${p.backend})`}`,
    );
    for (const [name, value] of Object.entries(p.options)) lines.push(`  --${name} ${JSON.stringify(value)}`);
  } else {
    lines.push(`provenance: added from ${p.from} at ${p.at}${p.link ? ' (linked, not copied)' : ''}`);
  }
  return lines;
}
