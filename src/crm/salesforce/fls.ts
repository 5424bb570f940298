/**
 * Field-level security for the fields we create. A custom field made through the Metadata API is visible to no one
 * (describe hides it, SOQL and writes call it INVALID_FIELD) until a profile or permission set grants it, so after
 * creating fields the connector upserts its own permission set with read/edit on exactly those fields and assigns it to
 * the integration user. Upserting a PermissionSet changes only the field permissions it lists.
 */
import * as z from 'zod';
import type { SalesforceSession } from './session';
import { quote } from './soql';
import { queryResult } from './wire';
import { metadataCall } from './metadata-soap';

const upsertResult = z.object({
  fullName: z.string(),
  success: z.boolean(),
  created: z.boolean().optional(),
  errors: z.union([z.array(z.object({ statusCode: z.string(), message: z.string() }).loose()), z.object({ statusCode: z.string(), message: z.string() }).loose()]).nullable().optional(),
});

export interface PermissionSetSpec {
  /** API name, e.g. Community_Influence. */
  name: string;
  label: string;
}

/** Grants read/edit on `fields` (`Object.Field__c`) through the permission set, creating and assigning it if needed. */
export async function grantFieldAccess(session: SalesforceSession, ps: PermissionSetSpec, fields: string[]): Promise<void> {
  if (fields.length === 0) return;
  // Element order follows the Metadata WSDL (fieldPermissions: editable, field, readable), which Salesforce checks.
  const metadata = { fullName: ps.name, fieldPermissions: fields.map((field) => ({ editable: true, field, readable: true })), label: ps.label };
  const raw: unknown = await session.call((conn) => metadataCall(conn, 'upsertMetadata', 'PermissionSet', [metadata]));
  const result = upsertResult.parse(Array.isArray(raw) ? raw[0] : raw);
  if (!result.success) {
    const errors = result.errors ? (Array.isArray(result.errors) ? result.errors : [result.errors]) : [];
    throw new Error(`could not grant field access through permission set ${ps.name}: ${errors.map((e) => `${e.statusCode}: ${e.message}`).join('; ')}`);
  }

  const query = (soql: string) => session.request(queryResult, { method: 'GET', url: `${session.dataPath}/query?${new URLSearchParams({ q: soql }).toString()}` });
  const found = await query(`SELECT Id FROM PermissionSet WHERE Name = ${quote(ps.name)}`);
  const psId = z.object({ Id: z.string() }).parse(found.records[0]).Id;
  // jsforce reads the user id from the token response's `id` URL: the client-credentials "run as" user or the JWT subject.
  const userId = session.conn.userInfo?.id;
  if (!userId) throw new Error('no user id from the OAuth identity URL; cannot assign the permission set');
  const assigned = await query(`SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = ${quote(userId)} AND PermissionSetId = ${quote(psId)}`);
  if (assigned.totalSize > 0) return;
  await session.request(z.object({ id: z.string(), success: z.literal(true) }).loose(), {
    method: 'POST',
    url: `${session.dataPath}/sobjects/PermissionSetAssignment`,
    body: { AssigneeId: userId, PermissionSetId: psId },
  });
}
