export { verifyDiscourseSignature } from './verify';
export { normaliseDiscourse, type DiscourseResult } from './normalise';
