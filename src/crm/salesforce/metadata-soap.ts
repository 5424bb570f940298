/**
 * The two Metadata API calls provisioning needs (createMetadata, upsertMetadata), as plain SOAP over fetch. jsforce's
 * metadata module would pull ~450 KB of XML libraries into the Worker for them. Results come back in jsforce's shape
 * ({fullName, success, created?, errors?}), so callers validate them with the same zod schemas.
 */
import type { Connection } from 'jsforce';

const NS = 'http://soap.sforce.com/2006/04/metadata';

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const unescape = (s: string) =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

export type Xmlish = string | number | boolean | null | undefined | Xmlish[] | { [key: string]: Xmlish };

/** Object keys become elements in insertion order (the WSDL's order matters to Salesforce); arrays repeat the element. */
export function toXml(name: string, value: Xmlish): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => toXml(name, v)).join('');
  if (typeof value === 'object') return `<${name}>${Object.entries(value).map(([k, v]) => toXml(k, v)).join('')}</${name}>`;
  return `<${name}>${escape(String(value))}</${name}>`;
}

export function envelope(sessionId: string, operation: 'createMetadata' | 'upsertMetadata', type: string, records: Record<string, Xmlish>[]): string {
  const items = records
    .map((r) => `<metadata xsi:type="${type}">${Object.entries(r).map(([k, v]) => toXml(k, v)).join('')}</metadata>`)
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="${NS}"><soapenv:Header><SessionHeader><sessionId>${escape(sessionId)}</sessionId>` +
    `</SessionHeader></soapenv:Header><soapenv:Body><${operation}>${items}</${operation}></soapenv:Body></soapenv:Envelope>`
  );
}

const text = (xml: string, tag: string) => {
  const m = new RegExp(`<(?:\\w+:)?${tag}>([^<]*)</(?:\\w+:)?${tag}>`).exec(xml);
  return m ? unescape(m[1]!) : null;
};

/** SaveResult / UpsertResult elements as objects; a SOAP fault becomes an Error whose errorCode the retry logic reads. */
export function parseResults(xml: string): Record<string, unknown>[] {
  const fault = /<(?:\w+:)?Fault>([\s\S]*?)<\/(?:\w+:)?Fault>/.exec(xml);
  if (fault) {
    const code = (text(fault[1]!, 'faultcode') ?? 'UNKNOWN').replace(/^\w+:/, '');
    const error = new Error(text(fault[1]!, 'faultstring') ?? code) as Error & { errorCode: string };
    error.name = code;
    error.errorCode = code;
    throw error;
  }
  return [...xml.matchAll(/<(?:\w+:)?result>([\s\S]*?)<\/(?:\w+:)?result>/g)].map(([, body]) => {
    const errors = [...body!.matchAll(/<(?:\w+:)?errors>([\s\S]*?)<\/(?:\w+:)?errors>/g)].map(([, e]) => ({
      statusCode: text(e!, 'statusCode') ?? 'UNKNOWN',
      message: text(e!, 'message') ?? '',
    }));
    const created = text(body!, 'created');
    return {
      fullName: text(body!, 'fullName') ?? '',
      success: text(body!, 'success') === 'true',
      ...(created === null ? {} : { created: created === 'true' }),
      ...(errors.length ? { errors } : {}),
    };
  });
}

export async function metadataCall(
  conn: Connection,
  operation: 'createMetadata' | 'upsertMetadata',
  type: string,
  records: Record<string, Xmlish>[],
): Promise<Record<string, unknown>[]> {
  if (!conn.accessToken || !conn.instanceUrl) throw Object.assign(new Error('no session'), { errorCode: 'INVALID_SESSION_ID' });
  const res = await fetch(`${conn.instanceUrl}/services/Soap/m/${conn.version}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
    body: envelope(conn.accessToken, operation, type, records),
  });
  const body = await res.text();
  // A non-SOAP error body (a proxy's or maintenance page's 5xx) gets jsforce's code for non-JSON REST errors, so the
  // retry policy treats it like any other: 5xx retried, 401 re-authenticated.
  if (!res.ok && !/Fault>/.test(body)) throw Object.assign(new Error(`Metadata API answered ${res.status}`), { errorCode: `ERROR_HTTP_${res.status}` });
  return parseResults(body);
}
