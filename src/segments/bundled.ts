import { BUNDLED_MAPPINGS } from '../rules/bundled';

/** mappings/segments.yaml as compiled into the Worker by scripts/bundle-mappings.ts (npm pre-scripts regenerate it). */
export const BUNDLED_SEGMENTS = BUNDLED_MAPPINGS.segments;
