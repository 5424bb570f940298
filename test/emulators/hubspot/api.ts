/**
 * The HubSpot API routes the connector uses, with HubSpot's response and error shapes (models in
 * @hubspot/api-client/lib/codegen/**: CollectionResponseWithTotalSimplePublicObjectForwardPaging, BatchResponseSimplePublicObject
 * (WithErrors for 207), StandardError, Error with category/correlationId, BatchResponsePublicAssociationMultiWithLabel,
 * Property, PropertyGroup). Object types are accepted by name or id (0-1 contacts, 0-2 companies, 0-3 deals).
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { Faults } from './faults';
import { invalidValue, makeProperty, type ObjectType } from './properties';
import { runSearch, searchRequest, SearchError } from './search';
import { resolveType, type HubspotState } from './state';

export interface ApiDeps {
  state: HubspotState;
  faults: Faults;
  now: () => number;
}

export function hubspotError(c: Context, status: ContentfulStatusCode, category: string, message: string, extra: Record<string, unknown> = {}) {
  return c.json({ status: 'error', message, correlationId: crypto.randomUUID(), category, ...extra }, status);
}

async function body<T>(c: Context, schema: z.ZodType<T>): Promise<{ ok: true; data: T } | { ok: false; res: Response }> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    return { ok: false, res: hubspotError(c, 400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1: could not parse the body.') };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, data: parsed.data };
  const message = `Invalid input JSON: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
  return { ok: false, res: hubspotError(c, 400, 'VALIDATION_ERROR', message) };
}

function typeOr400(c: Context, raw: string): ObjectType | Response {
  return resolveType(raw) ?? hubspotError(c, 400, 'VALIDATION_ERROR', `Unable to infer object type from: ${raw}`);
}

const wireValue = z.union([z.string(), z.number(), z.boolean(), z.null()]).transform((v) => (v === null ? '' : String(v)));
const batchUpdate = z.object({
  inputs: z.array(z.object({ id: z.union([z.string(), z.number()]).transform(String), properties: z.record(z.string(), wireValue) })),
});
const batchRead = z.object({
  inputs: z.array(z.object({ id: z.union([z.string(), z.number()]).transform(String) })),
  properties: z.array(z.string()).default([]),
  propertiesWithHistory: z.array(z.string()).default([]),
  idProperty: z.string().optional(),
});
const associationRead = z.object({ inputs: z.array(z.object({ id: z.union([z.string(), z.number()]).transform(String), after: z.string().optional() })) });
const propertyCreate = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'property names are lower-case letters, digits and _'),
  label: z.string(),
  type: z.enum(['string', 'number', 'date', 'datetime', 'enumeration', 'bool']),
  fieldType: z.string(),
  groupName: z.string(),
  description: z.string().optional(),
  options: z.array(z.object({ label: z.string(), value: z.string(), displayOrder: z.number().optional(), hidden: z.boolean().default(false) })).optional(),
});
const mergeInput = z.object({ primaryObjectId: z.union([z.string(), z.number()]).transform(String), objectIdToMerge: z.union([z.string(), z.number()]).transform(String) });
const propertyUpdate = z.object({
  label: z.string().optional(),
  description: z.string().optional(),
  groupName: z.string().optional(),
  hidden: z.boolean().optional(),
  displayOrder: z.number().optional(),
  type: z.string().optional(),
  fieldType: z.string().optional(),
  options: z.array(z.object({ label: z.string(), value: z.string(), displayOrder: z.number().optional(), hidden: z.boolean().default(false) })).optional(),
});
const groupCreate = z.object({ name: z.string(), label: z.string(), displayOrder: z.number().optional() });

function batchEnvelope(startedAt: string, results: unknown[], errors: unknown[]) {
  const base = { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() };
  return errors.length > 0 ? { ...base, numErrors: errors.length, errors } : base;
}

function standardError(category: string, message: string, context: Record<string, string[]>, subCategory?: string) {
  return { status: 'error', category, ...(subCategory ? { subCategory } : {}), message, context, errors: [], links: {} };
}

export function hubspotApi(deps: ApiDeps): Hono {
  const { state, faults } = deps;
  const app = new Hono();

  app.post('/crm/v3/objects/:type/search', async (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const req = await body(c, searchRequest);
    if (!req.ok) return req.res;
    try {
      return c.json(runSearch(state, type, req.data));
    } catch (error) {
      if (error instanceof SearchError) return hubspotError(c, 400, 'VALIDATION_ERROR', error.message);
      throw error;
    }
  });

  app.post('/crm/v3/objects/:type/batch/update', async (c) => {
    const startedAt = new Date().toISOString();
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const req = await body(c, batchUpdate);
    if (!req.ok) return req.res;
    const inputs = req.data.inputs;
    if (inputs.length > 100) return hubspotError(c, 400, 'VALIDATION_ERROR', `Batch size ${inputs.length} exceeds the limit of 100.`);
    const ids = inputs.map((i) => i.id);
    const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (dupes.length > 0) return hubspotError(c, 400, 'VALIDATION_ERROR', `Duplicate IDs found in batch input: [${[...new Set(dupes)].join(', ')}]. IDs must be unique`);
    // HubSpot validates every value before applying any: one bad value rejects the whole batch.
    const problems: { isValid: false; message: string; error: string; name: string }[] = [];
    for (const input of inputs) {
      for (const [name, value] of Object.entries(input.properties)) {
        const def = state.properties[type].get(name);
        if (!def) problems.push({ isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name });
        else if (def.modificationMetadata.readOnlyValue || def.calculated) problems.push({ isValid: false, message: `"${name}" is a read only property; its value cannot be set.`, error: 'READ_ONLY_VALUE', name });
        else {
          const why = invalidValue(def, value);
          if (why) problems.push({ isValid: false, message: why, error: def.type === 'enumeration' ? 'INVALID_OPTION' : 'INVALID_VALUE', name });
        }
      }
    }
    if (problems.length > 0) return hubspotError(c, 400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(problems)}`);

    const injected = faults.partial(c.req.path, ids);
    const errors: ReturnType<typeof standardError>[] = [];
    const results: unknown[] = [];
    const missing: string[] = [];
    const now = deps.now();
    for (const input of inputs) {
      const fault = injected.get(input.id);
      if (fault) {
        errors.push(standardError(fault.category, fault.message, { ids: [input.id] }));
        continue;
      }
      const obj = state.update(type, input.id, input.properties, now);
      if (!obj) {
        missing.push(input.id);
        continue;
      }
      const props: Record<string, string | null> = { hs_object_id: obj.id };
      for (const k of [...Object.keys(input.properties), ...state.modifiedProps(type)]) props[k] = obj.properties[k] ?? null;
      results.push({ id: obj.id, properties: props, createdAt: new Date(obj.createdAt).toISOString(), updatedAt: new Date(obj.updatedAt).toISOString(), archived: false });
    }
    if (missing.length > 0) {
      errors.push(standardError('OBJECT_NOT_FOUND', `Could not get some ${type.toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing }));
    }
    if (results.length > 0) state.stats.writeCalls++;
    return c.json(batchEnvelope(startedAt, results, errors), errors.length > 0 ? 207 : 200);
  });

  // BatchApi.read: POST /crm/v3/objects/{type}/batch/read → BatchResponseSimplePublicObject (207 with errors for ids not found).
  app.post('/crm/v3/objects/:type/batch/read', async (c) => {
    const startedAt = new Date().toISOString();
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const req = await body(c, batchRead);
    if (!req.ok) return req.res;
    if (req.data.inputs.length > 100) return hubspotError(c, 400, 'VALIDATION_ERROR', `Batch size ${req.data.inputs.length} exceeds the limit of 100.`);
    if (req.data.idProperty && req.data.idProperty !== 'hs_object_id') return hubspotError(c, 400, 'VALIDATION_ERROR', `The emulator reads by hs_object_id only, not ${req.data.idProperty}.`);
    const names = [...new Set([...req.data.properties, 'hs_object_id', 'createdate', state.modifiedProps(type)[0] ?? 'hs_lastmodifieddate'])];
    const results: unknown[] = [];
    const missing: string[] = [];
    const answered = new Set<string>();
    for (const id of new Set(req.data.inputs.map((i) => i.id))) {
      // A merged-away id answers with the record it was merged into, under that record's id.
      const obj = state.find(type, id);
      if (!obj) {
        missing.push(id);
        continue;
      }
      if (answered.has(obj.id)) continue;
      answered.add(obj.id);
      results.push({
        id: obj.id, properties: Object.fromEntries(names.map((n) => [n, obj.properties[n] ?? null])),
        createdAt: new Date(obj.createdAt).toISOString(), updatedAt: new Date(obj.updatedAt).toISOString(), archived: false,
      });
    }
    const errors = missing.length > 0
      ? [standardError('OBJECT_NOT_FOUND', `Could not get some ${type.toUpperCase()} objects, they may be deleted or not exist. Check that ids are valid.`, { ids: missing })]
      : [];
    return c.json(batchEnvelope(startedAt, results, errors), errors.length > 0 ? 207 : 200);
  });

  app.get('/crm/v3/objects/:type/:id', (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const obj = state.find(type, c.req.param('id'));
    if (!obj) return hubspotError(c, 404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.');
    const wanted = c.req.queries('properties')?.flatMap((p) => p.split(',')) ?? [];
    const names = [...new Set([...wanted, 'hs_object_id', 'createdate', state.modifiedProps(type)[0] ?? 'hs_lastmodifieddate'])];
    return c.json({
      id: obj.id, properties: Object.fromEntries(names.map((n) => [n, obj.properties[n] ?? null])),
      createdAt: new Date(obj.createdAt).toISOString(), updatedAt: new Date(obj.updatedAt).toISOString(), archived: false,
    });
  });

  // BasicApi.archive: 204 whether or not the record existed.
  app.delete('/crm/v3/objects/:type/:id', (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    state.archive(type, c.req.param('id'));
    return c.body(null, 204);
  });

  // PublicObjectApi.merge: the primary survives with its id; the merged id then resolves to it.
  app.post('/crm/v3/objects/:type/merge', async (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const req = await body(c, mergeInput);
    if (!req.ok) return req.res;
    const obj = state.merge(type, req.data.primaryObjectId, req.data.objectIdToMerge, deps.now());
    if (!obj) return hubspotError(c, 400, 'VALIDATION_ERROR', `Could not merge ${req.data.objectIdToMerge} into ${req.data.primaryObjectId}: both must exist and differ.`);
    return c.json({ id: obj.id, properties: obj.properties, createdAt: new Date(obj.createdAt).toISOString(), updatedAt: new Date(obj.updatedAt).toISOString(), archived: false });
  });

  app.post('/crm/v4/associations/:from/:to/batch/read', async (c) => {
    const startedAt = new Date().toISOString();
    const from = typeOr400(c, c.req.param('from'));
    if (from instanceof Response) return from;
    const to = typeOr400(c, c.req.param('to'));
    if (to instanceof Response) return to;
    const req = await body(c, associationRead);
    if (!req.ok) return req.res;
    if (req.data.inputs.length > 1000) return hubspotError(c, 400, 'VALIDATION_ERROR', `Batch size ${req.data.inputs.length} exceeds the limit of 1000.`);
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const { id } of req.data.inputs) {
      const links = state.associationsOf(from, to, id);
      if (!links || links.length === 0) {
        errors.push(standardError('OBJECT_NOT_FOUND', `No ${to} is associated with ${from} ${id}.`, { fromObjectId: [id] }, 'crm.associations.NO_ASSOCIATIONS_FOUND'));
        continue;
      }
      results.push({
        from: { id },
        to: links.map((l) => ({ toObjectId: Number(l.id), associationTypes: l.types })),
      });
    }
    return c.json(batchEnvelope(startedAt, results, errors), errors.length > 0 ? 207 : 200);
  });

  app.get('/crm/v3/properties/:type/groups', (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    return c.json({ results: [...state.groups[type].values()] });
  });

  app.post('/crm/v3/properties/:type/groups', async (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const req = await body(c, groupCreate);
    if (!req.ok) return req.res;
    if (state.groups[type].has(req.data.name)) return hubspotError(c, 409, 'OBJECT_ALREADY_EXISTS', `A property group named '${req.data.name}' already exists.`);
    const group = { name: req.data.name, label: req.data.label, displayOrder: req.data.displayOrder ?? -1, archived: false };
    state.groups[type].set(group.name, group);
    return c.json(group, 201);
  });

  app.get('/crm/v3/properties/:type', (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    return c.json({ results: [...state.properties[type].values()] });
  });

  /** Creates one property or explains why not (used by the single and the batch route). */
  function createProperty(type: ObjectType, input: z.infer<typeof propertyCreate>): { ok: true; def: ReturnType<typeof makeProperty> } | { ok: false; status: 400 | 409; category: string; message: string } {
    if (state.properties[type].has(input.name)) return { ok: false, status: 409, category: 'OBJECT_ALREADY_EXISTS', message: `Property named '${input.name}' already exists.` };
    if (!state.groups[type].has(input.groupName)) return { ok: false, status: 400, category: 'VALIDATION_ERROR', message: `Property group ${input.groupName} does not exist.` };
    if (input.type === 'enumeration' && (input.options ?? []).length === 0 && input.fieldType !== 'checkbox') {
      return { ok: false, status: 400, category: 'VALIDATION_ERROR', message: `Enumeration property ${input.name} needs options.` };
    }
    const options = (input.options ?? []).map((o, i) => ({ label: o.label, value: o.value, displayOrder: o.displayOrder ?? i, hidden: o.hidden }));
    const def = makeProperty(input.name, input.type, input.fieldType, input.groupName, { label: input.label, description: input.description ?? '', options, hubspotDefined: false });
    state.properties[type].set(def.name, def);
    return { ok: true, def };
  }

  app.post('/crm/v3/properties/:type', async (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const req = await body(c, propertyCreate);
    if (!req.ok) return req.res;
    const made = createProperty(type, req.data);
    return made.ok ? c.json(made.def, 201) : hubspotError(c, made.status, made.category, made.message);
  });

  // CoreApi.update: `options`, when given, replace the property's options (keeping existing ones is the caller's job).
  app.patch('/crm/v3/properties/:type/:name', async (c) => {
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const def = state.properties[type].get(c.req.param('name'));
    if (!def) return hubspotError(c, 404, 'OBJECT_NOT_FOUND', `Unable to find property ${c.req.param('name')} for object type ${type}.`);
    const req = await body(c, propertyUpdate);
    if (!req.ok) return req.res;
    const { options, ...rest } = req.data;
    const meta = def.modificationMetadata;
    if (options && meta.readOnlyOptions) return hubspotError(c, 400, 'VALIDATION_ERROR', `The options of ${def.name} are read-only.`);
    if ((rest.type && rest.type !== def.type) || (rest.fieldType && rest.fieldType !== def.fieldType)) {
      if (meta.readOnlyDefinition) return hubspotError(c, 400, 'VALIDATION_ERROR', `The definition of ${def.name} is read-only.`);
    }
    Object.assign(def, rest, { updatedAt: new Date(deps.now()).toISOString() });
    if (options) def.options = options.map((o, i) => ({ label: o.label, value: o.value, displayOrder: o.displayOrder ?? i, hidden: o.hidden }));
    return c.json(def);
  });

  app.post('/crm/v3/properties/:type/batch/create', async (c) => {
    const startedAt = new Date().toISOString();
    const type = typeOr400(c, c.req.param('type'));
    if (type instanceof Response) return type;
    const req = await body(c, z.object({ inputs: z.array(propertyCreate) }));
    if (!req.ok) return req.res;
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const input of req.data.inputs) {
      const made = createProperty(type, input);
      if (made.ok) results.push(made.def);
      else errors.push(standardError(made.category, made.message, { name: [input.name] }));
    }
    return c.json(batchEnvelope(startedAt, results, errors), errors.length > 0 ? 207 : 201);
  });

  return app;
}
