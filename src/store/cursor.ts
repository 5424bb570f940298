/**
 * Opaque keyset cursors: the last row's sort key as base64url JSON. Decoding never throws; anything that is not a
 * cursor we encoded comes back as undefined, and each list checks the shape it expects.
 */
export function encodeCursor(key: readonly unknown[]): string {
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeCursor(raw: string): unknown {
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(raw)) return undefined;
    const bytes = Uint8Array.from(atob(raw.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    return undefined;
  }
}
