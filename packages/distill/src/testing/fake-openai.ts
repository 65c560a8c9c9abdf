import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake server received, parsed. */
export interface FakeRequest {
  /** Path requested. */
  path: string;
  /** The JSON body. */
  body: Record<string, unknown>;
  /** The concatenated text parts of the user message. */
  text: string;
  /** Image parts: their data-URL media type and decoded byte length. */
  images: Array<{ mediaType: string; bytes: number }>;
  /** The Authorization header (tests check the key is sent and never echoed). */
  authorization: string | undefined;
  /** Body fields the imitated vLLM version does not know: vLLM ignores them (a debug-level log line at most) and answers unconstrained. */
  ignored: string[];
}

/** What the fake answers for one completion. */
export interface FakeAnswer {
  /** The answer text (a letter code or a label). */
  text: string;
  /** Probability of each candidate first token (letters), for logprobs. */
  tokenProbs?: Record<string, number>;
}

/** How the fake behaves. */
export interface FakeOpenAIOptions {
  /** Decides the answer from the request. @default answers 'A' */
  answer?: (req: FakeRequest, choiceIndex: number) => FakeAnswer;
  /**
   * Per request (in arrival order): `ok`, `429` (with Retry-After: `retryAfterSeconds`), `500`, `slow` (answers after
   * `slowMs`), `malformed` (invalid JSON with status 200), `no-logprobs`. Requests past the script are `ok`.
   */
  script?: ReadonlyArray<'ok' | '429' | '500' | 'slow' | 'malformed' | 'no-logprobs'>;
  /** Delay of `slow` answers. @default 2000 */
  slowMs?: number;
  /**
   * The `Retry-After` (seconds) sent with `429` answers. Rate-limited OpenAI-compatible APIs send it in
   * seconds (openai-python `_base_client.py` `_parse_retry_after_header` reads seconds or an HTTP date;
   * it ignores values over 60 s, which is why our client caps instead). @default 0
   */
  retryAfterSeconds?: number;
  /** Reject (HTTP 400, like vLLM) requests whose image parts are not valid data URLs of images. @default true */
  validateImages?: boolean;
  /** When set, requests without `Authorization: Bearer <apiKey>` get HTTP 401 (the sent header is echoed, as some servers do). */
  apiKey?: string;
  /**
   * The vLLM version imitated (served at `GET /version`): `structured_outputs` is known from 0.10.2 on,
   * `guided_choice` before 0.12.0 (vllm-project/vllm#29326 removed it). A field the version does not
   * know is not refused: like vLLM (protocol.py `OpenAIBaseModel.__log_extra_fields__`) the request is
   * answered 200 and the field listed in {@link FakeRequest.ignored}. `new` = 0.12.0, `legacy` = 0.9.2.
   * @default 'new'
   */
  vllm?: 'new' | 'legacy' | (string & {});
}

/** A running fake server. */
export interface FakeOpenAI {
  /** Base URL to give clients (ends with /v1). */
  url: string;
  /** Every request received. */
  requests: FakeRequest[];
  /** Stops the server. */
  close(): Promise<void>;
}

const MAGIC: Array<[string, number[]]> = [
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/png', [0x89, 0x50, 0x4e, 0x47]],
];

/**
 * A local OpenAI-compatible chat-completions server for tests (vLLM's request and response shapes,
 * including `top_logprobs`), listening on 127.0.0.1. It checks request bodies (image parts,
 * structured-output field), can answer 429 / 500 / slowly / with malformed JSON, and records every request.
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: FakeRequest[] = [];
  const version = options.vllm === undefined || options.vllm === 'new' ? '0.12.0' : options.vllm === 'legacy' ? '0.9.2' : options.vllm;
  const parsed = version.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const atLeast = (...v: number[]) => {
    for (let i = 0; i < v.length; i++) if ((parsed[i] ?? 0) !== v[i]) return (parsed[i] ?? 0) > v[i]!;
    return true;
  };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.url === '/version') return send(res, 200, { version }); // vllm api_server.py show_version
    if (req.url === '/v1/models' || req.url === '/health') return send(res, 200, { object: 'list', data: [{ id: 'fake-model', object: 'model' }] });
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) return send(res, 404, { error: { message: 'not found' } });
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return send(res, 401, { error: { message: `invalid api key: ${req.headers.authorization ?? '(none)'}` } });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return send(res, 400, { error: { message: 'invalid JSON body' } });
    }
    const messages = (body['messages'] ?? []) as Array<{ role: string; content: unknown }>;
    const parts = messages.flatMap((m) => (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content as Array<Record<string, unknown>>)));
    const images: FakeRequest['images'] = [];
    for (const p of parts.filter((x) => x['type'] === 'image_url')) {
      const url = String((p['image_url'] as { url?: string })?.url ?? '');
      const m = /^data:(image\/[a-z]+);base64,(.+)$/.exec(url);
      const bytes = m ? Buffer.from(m[2]!, 'base64') : Buffer.alloc(0);
      const ok = m !== null && MAGIC.some(([t, sig]) => t === m[1] && sig.every((b, i) => bytes[i] === b));
      if (!ok && (options.validateImages ?? true)) return send(res, 400, { error: { message: 'image_url must be a data URL of a JPEG or PNG image' } });
      images.push({ mediaType: m?.[1] ?? '', bytes: bytes.length });
    }
    const ignored = [...(atLeast(0, 10, 2) ? [] : ['structured_outputs']), ...(atLeast(0, 12, 0) ? ['guided_choice', 'guided_json', 'guided_regex', 'guided_grammar'] : [])].filter((f) => f in body);
    const fr: FakeRequest = { path: req.url, body, text: parts.filter((p) => p['type'] === 'text').map((p) => String(p['text'])).join(''), images, authorization: req.headers.authorization, ignored };
    const index = requests.length;
    requests.push(fr);
    const step = options.script?.[index] ?? 'ok';
    if (step === '429') return send(res, 429, { error: { message: 'rate limited' } }, { 'retry-after': String(options.retryAfterSeconds ?? 0) });
    if (step === '500') return send(res, 500, { error: { message: 'internal error' } });
    if (step === 'malformed') return send(res, 200, '{"choices": [ this is not json');
    if (step === 'slow') await new Promise((r) => setTimeout(r, options.slowMs ?? 2000));
    if (res.destroyed) return;
    const n = Number(body['n'] ?? 1);
    const choices = Array.from({ length: n }, (_, i) => {
      const a = options.answer?.(fr, i) ?? { text: 'A', tokenProbs: { A: 1 } };
      const wantLogprobs = body['logprobs'] === true && step !== 'no-logprobs';
      const probs = a.tokenProbs ?? { [a.text.charAt(0)]: 1 };
      const top = Object.entries(probs)
        .sort((x, y) => y[1] - x[1])
        .slice(0, Number(body['top_logprobs'] ?? 5))
        .map(([token, p]) => ({ token, logprob: Math.log(Math.max(p, 1e-30)), bytes: [...Buffer.from(token)] }));
      return {
        index: i,
        message: { role: 'assistant', content: a.text },
        logprobs: wantLogprobs ? { content: [{ token: a.text.charAt(0), logprob: Math.log(Math.max(probs[a.text.charAt(0)] ?? 1e-30, 1e-30)), bytes: [], top_logprobs: top }] } : null,
        finish_reason: 'stop',
      };
    });
    send(res, 200, { id: `chatcmpl-${index}`, object: 'chat.completion', model: body['model'], choices, usage: { prompt_tokens: Math.ceil(fr.text.length / 2) + 256 * images.length, completion_tokens: n, total_tokens: 0 } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
