export async function deliverySeen(db: D1Database, source: string, deliveryId: string): Promise<boolean> {
  const row = await db
    .prepare('SELECT 1 AS x FROM webhook_deliveries WHERE source = ? AND delivery_id = ?')
    .bind(source, deliveryId)
    .first();
  return row !== null;
}

/** Recorded after the activities are on the queue: a crash in between means a redelivery enqueues again, which
 * the (source, external_id) uniqueness absorbs; recording first could lose the event. */
export async function recordDelivery(db: D1Database, source: string, deliveryId: string): Promise<void> {
  await db
    .prepare('INSERT INTO webhook_deliveries (source, delivery_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
    .bind(source, deliveryId, new Date().toISOString())
    .run();
}
