/**
 * Attribution engine: pure functions, no I/O — runs in Node and in workerd. What the rest of the Worker calls.
 */
export type { CompanyInfluence, ContactInfluence, Deal, DealContact, DealInfluence, EngineContext, Milestone, Touch, TouchEvidence } from './types';
export { computeDealInfluence, countedTouches, evidenceUrl, modelsOf } from './deal';
export { computeAll, computeCompanyInfluence, computeContactInfluence } from './people';
export { allocBatch, computeBatch, toColumnar, FLAG_ACCOUNT, FLAG_BOT, FLAG_CONTACT, FLAG_STAFF, type BatchOptions, type BatchResult, type ColumnarInput } from './batch';
export { batchInfluences } from './batch-view';
export { fitMarkov, type Journey, type MarkovFit } from './markov';
export { fitShapley, type ShapleyFit, type ShapleyOptions } from './shapley';
export { fitForRules, journeysFromDeals, parsePathsCsv, journeysFileSchema, splitJourneysFile } from './journeys';
export { recredit } from './recredit';
export { FIT_TOLERANCE, fitModels, fitShift, fittedModels, fittedOrEmpty, mergeJourneys, type Fitted } from './fit';
export { Catalogue, specificity } from './catalogue';
export { OUTPUTS, companyFieldValues, contactFieldValues, dealFieldValues, outputTypes } from './outputs';
export { influenceScore, classify } from './definitions';
