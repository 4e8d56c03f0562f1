// The boundary both transports (Electron's IPC, the browser host's WebSocket) call: the payload is validated once,
// against its call's schema, the handler gets the typed value, and whatever happens the answer is a Result. Also
// how the handlers are gathered: from the services that own each call, and the host's own answers.

import { REQUEST_METHODS, STUDIO_PUSH_NAMES, listenerName, type ApiCalls, type HostCalls, type RequestMethod, type StudioServices } from './api.js';
import { errorText, fail, type Result } from './result.js';
import { validateRequest } from './schemas.js';

/** Validates the payload, then runs the call's handler; a throw becomes INTERNAL (and is passed to onError for the log). */
export async function dispatch(handlers: ApiCalls, method: RequestMethod, payload: unknown, onError?: (error: unknown) => void): Promise<Result<unknown>> {
  const request = validateRequest(method, payload);
  if (!request.ok) return request;
  try {
    return await (handlers[method] as (request: unknown) => Promise<Result<unknown>>)(request.value);
  } catch (error) {
    onError?.(error);
    return fail('INTERNAL', `Something went wrong in the studio: ${errorText(error)}`);
  }
}

/** One handler per call: the host's own for the calls it answers itself, the services' for every other. */
export function apiHandlers(services: StudioServices, host: HostCalls): ApiCalls {
  const own = host as Partial<Record<RequestMethod, unknown>>;
  const shared = services as unknown as Record<string, (request: unknown) => Promise<Result<unknown>>>;
  return Object.fromEntries(
    REQUEST_METHODS.map((method) => [method, own[method] ?? ((request: unknown) => shared[method]!.call(services, request))]),
  ) as ApiCalls;
}

/** The member K of the first of the services P that has one. */
type FirstWith<P extends readonly object[], K extends PropertyKey> = P extends readonly [infer Head, ...infer Rest extends readonly object[]]
  ? K extends keyof Head
    ? Head[K]
    : FirstWith<Rest, K>
  : never;
/** What a set of services serves of the table: their (public) members named like its calls and events. */
export type Served<P extends readonly object[]> = { [K in keyof StudioServices as K extends KeysOfAny<P> ? K : never]: FirstWith<P, K> };
type KeysOfAny<P extends readonly object[]> = P[number] extends infer Each ? (Each extends object ? keyof Each : never) : never;

/**
 * The table's calls and events gathered from the services that own them, each from the first that has it, so no
 * service restates another's. Assigning the result to StudioServices checks at compile time that none is missing.
 */
export function servicesFrom<P extends readonly object[]>(...providers: P): Served<P> {
  const served: Record<string, unknown> = {};
  for (const name of [...REQUEST_METHODS, ...STUDIO_PUSH_NAMES.map(listenerName)]) {
    const owner = providers.find((provider) => typeof (provider as Record<string, unknown>)[name] === 'function') as Record<string, (...args: unknown[]) => unknown> | undefined;
    if (owner) served[name] = owner[name]!.bind(owner);
  }
  return served as Served<P>;
}
