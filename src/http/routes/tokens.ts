import { Hono } from 'hono';
import * as z from 'zod';
import { SCOPES } from '../../auth/scopes';
import { generateTokenSecret, requireScope } from '../../auth/tokens';
import { newId, sha256Hex } from '../../ids';
import { insertToken, listTokens, revokeToken } from '../../store/tokens';
import { recordAudit } from '../../store/audit';
import type { Context } from 'hono';

const actorOf = (c: Context<AppEnv>) => `${c.get('principal')!.kind}:${c.get('principal')!.id}`;
import { parseJsonBody, readBody, requireMediaType } from '../body';
import { ApiError } from '../errors';
import type { AppEnv } from '../types';
import { parseWith } from '../validate';

export const tokens = new Hono<AppEnv>();

const createBody = z.object({
  name: z.string().trim().min(1).max(100),
  scopes: z.array(z.enum(SCOPES)).min(1),
});

/** The secret is shown once, in this response; only its hash is kept. */
tokens.post('/', requireScope('admin'), async (c) => {
  requireMediaType(c, 'application/json');
  const body = parseWith(createBody, parseJsonBody(await readBody(c.req.raw, 16_384)));
  const secret = generateTokenSecret();
  const id = newId('tok');
  await insertToken(c.env.DB, { id, name: body.name, hash: await sha256Hex(secret), scopes: [...new Set(body.scopes)] });
  await recordAudit(c.env.DB, { actor: actorOf(c), action: 'token.create', detail: { token_id: id, name: body.name, scopes: body.scopes } });
  c.get('log').info('api token created', { token_id: id, scopes: body.scopes });
  return c.json({ id, name: body.name, scopes: body.scopes, token: secret }, 201);
});

tokens.get('/', requireScope('admin'), async (c) => {
  const rows = await listTokens(c.env.DB);
  return c.json({ data: rows.map((r) => ({ ...r, scopes: r.scopes.split(' ') })) });
});

tokens.delete('/:id', requireScope('admin'), async (c) => {
  if (!(await revokeToken(c.env.DB, c.req.param('id')))) throw new ApiError(404, 'not_found', 'no active token with that id');
  await recordAudit(c.env.DB, { actor: actorOf(c), action: 'token.revoke', detail: { token_id: c.req.param('id') } });
  c.get('log').info('api token revoked', { token_id: c.req.param('id') });
  return c.body(null, 204);
});
