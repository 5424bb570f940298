export { verifyGithubSignature } from './verify';
export { normaliseGithub, githubIdentity, type GithubResult, type GithubContext } from './normalise';
