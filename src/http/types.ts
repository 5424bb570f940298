import type { Principal } from '../auth/scopes';
import type { Config, Env } from '../env';
import type { Logger } from '../log';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
    config: Config;
    principal?: Principal;
    /** Set for people signed in with a session cookie (CSRF tokens are bound to it). */
    sessionId?: string;
  };
}
