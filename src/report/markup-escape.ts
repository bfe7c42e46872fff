/**
 * Escapes text for HTML or XML, in element content and in quoted attribute values alike: every string in a report
 * comes from a lineage or a plan (model ids, paths) and may hold markup characters.
 */
export function escapeMarkup(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
