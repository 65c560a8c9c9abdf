import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { LlmIrError } from '@llm-ir/core';

/** Options of {@link createChatClient}. */
export interface ChatClientOptions {
  /** Base URL of an OpenAI-compatible server, e.g. `http://localhost:8000/v1`. */
  baseURL: string;
  /** Environment variable holding the API key (never logged). @default 'OPENAI_API_KEY' */
  apiKeyEnv?: string;
  /** Requests in flight at once. @default 4 */
  concurrency?: number;
  /** Retries on 429, 5xx, timeouts and network errors. @default 6 */
  maxRetries?: number;
  /** Milliseconds before a request is abandoned (and retried). @default 120000 */
  timeoutMs?: number;
  /** First backoff in milliseconds (doubles each retry, full jitter, Retry-After honoured). @default 500 */
  backoffMs?: number;
  /** Longest backoff; a longer `Retry-After` is cut to it (and `onNotice` told). @default 30000 */
  maxBackoffMs?: number;
  /** One line for a person about something the client decided (a `Retry-After` cut to the backoff cap). */
  onNotice?: (line: string) => void;
  /** A fetch implementation (tests, proxies). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Token and time statistics of a client. */
export interface ChatStats {
  /** Successful requests. */
  requests: number;
  /** Retries made. */
  retries: number;
  /** Requests that failed for good. */
  failures: number;
  /** Prompt tokens reported by the server. */
  promptTokens: number;
  /** Completion tokens reported by the server. */
  completionTokens: number;
  /** Milliseconds spent in successful requests. */
  ms: number;
}

/** An OpenAI-compatible chat-completions client with concurrency, retries and statistics. */
export interface ChatClient {
  /** POSTs a chat-completions body and returns the parsed JSON response. */
  complete(body: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<ChatResponse>;
  /** Counters so far. */
  stats(): ChatStats;
}

/** The parts of a chat-completions response that are read. */
export interface ChatResponse {
  choices: Array<{
    message?: { content?: string | null };
    logprobs?: { content?: Array<{ token: string; logprob: number; top_logprobs?: Array<{ token: string; logprob: number }> }> | null } | null;
    finish_reason?: string;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/**
 * Creates a client for any OpenAI-compatible chat endpoint (vLLM, `llamafactory-cli api`, DashScope,
 * OpenAI). The API key is read from an environment variable when requests are made and is removed
 * from every error message.
 *
 * @example
 * ```ts
 * const client = createChatClient({ baseURL: 'http://localhost:8000/v1', concurrency: 8 });
 * const r = await client.complete({ model: 'qwen2-vl-7b', messages: [{ role: 'user', content: '你好' }] });
 * ```
 */
// The retry loop is our own, after weighing the kept libraries: p-retry's delays come from its own
// exponential schedule (a server's Retry-After cannot set the next wait), and the openai SDK (4.x,
// core.js `retryRequest`) ignores a Retry-After of 60 s or more and falls back to its own backoff
// silently, counts no retries, and cannot redact the key from echoed bodies. Here: full-jitter
// backoff, Retry-After honoured up to `maxBackoffMs` (told through `onNotice` when cut), retries
// counted in `stats`, the key never in an error.
export function createChatClient(options: ChatClientOptions): ChatClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const url = `${options.baseURL.replace(/\/+$/, '')}/chat/completions`;
  const limit = Math.max(1, options.concurrency ?? 4);
  const maxRetries = options.maxRetries ?? 6;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const backoff = options.backoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const stats: ChatStats = { requests: 0, retries: 0, failures: 0, promptTokens: 0, completionTokens: 0, ms: 0 };
  const slot = pLimit(limit);
  const redact = (s: string) => {
    const key = process.env[options.apiKeyEnv ?? 'OPENAI_API_KEY'];
    return key ? s.split(key).join('[redacted]') : s;
  };

  return {
    stats: () => ({ ...stats }),
    complete(body, opts = {}) {
      return slot(async () => {
        for (let attempt = 0; ; attempt++) {
          opts.signal?.throwIfAborted();
          const key = process.env[options.apiKeyEnv ?? 'OPENAI_API_KEY'];
          const timeout = AbortSignal.timeout(timeoutMs);
          const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
          const t0 = performance.now();
          let status = 0;
          let retryAfter: number | undefined;
          let problem: string;
          try {
            const res = await doFetch(url, {
              method: 'POST',
              headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
              body: JSON.stringify(body),
              signal,
            });
            status = res.status;
            // the key can come back in any text (an echoed header, an answer): never past this point
            const text = redact(await res.text());
            if (res.ok) {
              let json: ChatResponse;
              try {
                json = JSON.parse(text) as ChatResponse;
              } catch {
                throw new LlmIrError({ code: 'bad-response', message: `server returned invalid JSON: ${text.slice(0, 200)}` });
              }
              if (!Array.isArray(json.choices) || json.choices.length === 0) throw new LlmIrError({ code: 'bad-response', message: 'server response has no choices' });
              stats.requests++;
              stats.ms += performance.now() - t0;
              stats.promptTokens += json.usage?.prompt_tokens ?? 0;
              stats.completionTokens += json.usage?.completion_tokens ?? 0;
              return json;
            }
            const ra = res.headers.get('retry-after');
            if (ra) retryAfter = Number.isFinite(Number(ra)) ? Number(ra) * 1000 : Math.max(0, Date.parse(ra) - Date.now());
            problem = `HTTP ${status}: ${text.slice(0, 300)}`;
            if (!RETRYABLE.has(status)) {
              stats.failures++;
              throw Object.assign(new LlmIrError({ code: status === 401 || status === 403 ? 'unauthorized' : 'http-error', message: `${url} ${problem}` }), { status });
            }
          } catch (error) {
            if (LlmIrError.isInstance(error)) {
              if (error.code !== 'bad-response') throw error;
              problem = error.reason;
            } else if (opts.signal?.aborted) {
              throw new LlmIrError({ code: 'cancelled', message: 'request cancelled', cause: error });
            } else {
              problem = timeout.aborted ? `timed out after ${timeoutMs} ms` : `network error: ${redact((error as Error).message)}`;
            }
          }
          if (attempt >= maxRetries) {
            stats.failures++;
            throw Object.assign(new LlmIrError({ code: 'request-failed', message: `${url}: giving up after ${attempt + 1} attempts (${problem})` }), status ? { status } : {});
          }
          stats.retries++;
          if (retryAfter !== undefined && retryAfter > maxBackoff) {
            options.onNotice?.(`${url}: the server asked to wait ${Math.round(retryAfter / 1000)} s (Retry-After, HTTP ${status}); waiting ${Math.round(maxBackoff / 1000)} s, the backoff cap (maxBackoffMs)`);
            retryAfter = maxBackoff;
          }
          const wait = retryAfter ?? Math.random() * Math.min(maxBackoff, backoff * 2 ** attempt);
          await sleep(wait, undefined, opts.signal ? { signal: opts.signal } : {});
        }
      });
    },
  };
}
