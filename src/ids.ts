/** Random, URL-safe ids with a type prefix (mem_, imp_, tok_, run_): sortable by time for easier debugging. */
export function newId(prefix: string): string {
  const time = Date.now().toString(36).padStart(9, '0');
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  let rand = '';
  for (const b of bytes) rand += (b % 36).toString(36);
  return `${prefix}_${time}${rand}`;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export const nowIso = () => new Date().toISOString();
