export { verifySlackSignature, SLACK_MAX_SKEW_SECONDS, type SlackVerifyResult } from './verify';
export { normaliseSlack, type SlackResult, type SlackOptions } from './normalise';
