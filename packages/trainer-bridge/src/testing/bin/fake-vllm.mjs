#!/usr/bin/env node
// A faithful fake of `vllm serve <model> --enable-lora --lora-modules '{"name":..,"path":..}' ...` for
// tests without a GPU. Behaviours are vLLM's (vllm-project/vllm main, read 2026-12; the version it
// reports is FAKE_VLLM_VERSION, default 0.12.0), each cited next to its code:
// - argument checks at start: `--max-lora-rank` takes only vLLM's ranks, a LoRA folder without
//   adapter_config.json or with a rank above `--max-lora-rank` stops the server before it listens;
// - OpenAI routes on --host/--port: GET /version, GET /v1/models (base model and every adapter with its
//   parent), POST /v1/chat/completions; 404 NotFoundError for a model it does not serve, 400 for a
//   request without messages or with more images than `--limit-mm-per-prompt` allows;
// - label constraints as the version knows them: `structured_outputs: {choice}` from 0.10.2 on, the
//   `guided_choice` field before 0.12.0 (vllm-project/vllm#29326). A field the version does not know is
//   ignored and the request answered 200, unconstrained; the only trace is a log line, at DEBUG level
//   since vllm-project/vllm#36173 (shown with VLLM_LOGGING_LEVEL=DEBUG);
// - `logprobs` / `top_logprobs` answered with a `logprobs.content` list.
// The answer is a deterministic function of the model name and the prompt (a stand-in for a trained
// adapter); unconstrained, it is FAKE_VLLM_ANSWER or a sentence that is no label. SIGTERM stops it.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const VERSION = process.env.FAKE_VLLM_VERSION ?? '0.12.0';
const version = VERSION.split('.').map((x) => Number.parseInt(x, 10) || 0);
const atLeast = (...v) => {
  for (let i = 0; i < v.length; i++) if ((version[i] ?? 0) !== v[i]) return (version[i] ?? 0) > v[i];
  return true;
};
const MAX_LORA_RANKS = [1, 8, 16, 32, 64, 128, 256, 320, 512]; // vllm/config/lora.py MaxLoRARanks

const args = process.argv.slice(2);
if (args[0] === '--version') {
  console.log(VERSION);
  process.exit(0);
}
if (args[0] !== 'serve' || !args[1] || args[1].startsWith('-')) {
  console.error('usage: vllm serve <model_tag> [options]');
  process.exit(2);
}
const model = args[1];
// defaults: vllm/config/lora.py max_lora_rank = 16; vllm/config/multimodal.py limit_per_prompt (no limit set: 999 per modality)
const opts = { host: '127.0.0.1', port: 8000, maxLoraRank: 16, maxLogprobs: 20, loras: [], enableLora: false, limits: { image: 999 } };
const usage = (message) => {
  console.error(`usage: vllm serve [model_tag] [options]\nvllm serve: error: ${message}`);
  process.exit(2);
};
for (let i = 2; i < args.length; i++) {
  const a = args[i];
  if (a === '--host') opts.host = args[++i];
  else if (a === '--port') opts.port = Number(args[++i]);
  else if (a === '--max-lora-rank') {
    const v = args[++i];
    // argparse choices from the Literal type
    if (!MAX_LORA_RANKS.includes(Number(v))) usage(`argument --max-lora-rank: invalid choice: ${v} (choose from ${MAX_LORA_RANKS.join(', ')})`);
    opts.maxLoraRank = Number(v);
  } else if (a === '--max-logprobs') opts.maxLogprobs = Number(args[++i]);
  else if (a === '--enable-lora') opts.enableLora = true;
  else if (a === '--limit-mm-per-prompt') opts.limits = { ...opts.limits, ...JSON.parse(args[++i]) };
  else if (a === '--lora-modules') {
    while (i + 1 < args.length && !args[i + 1].startsWith('--')) opts.loras.push(JSON.parse(args[++i]));
  } else if (a.startsWith('--') && i + 1 < args.length && !args[i + 1].startsWith('--')) i++;
}
if (opts.loras.length && !opts.enableLora) {
  console.error('ValueError: LoRA modules were given but --enable-lora is not set');
  process.exit(1);
}
// vllm/entrypoints/openai/serving_models.py init_static_loras: each --lora-modules adapter is loaded
// before the server listens; a failure stops start-up
for (const l of opts.loras) {
  const cfgFile = join(l.path, 'adapter_config.json');
  if (!existsSync(cfgFile)) {
    console.error(`ValueError: Loading lora ${l.name} failed: No adapter found for ${l.path}`);
    process.exit(1);
  }
  const r = JSON.parse(readFileSync(cfgFile, 'utf8')).r;
  if (r > opts.maxLoraRank) {
    // vllm/lora/peft_helper.py PEFTHelper.validate_legal
    console.error(`ValueError: LoRA rank ${r} is greater than max_lora_rank ${opts.maxLoraRank}.`);
    process.exit(1);
  }
}
const served = new Set([model, ...opts.loras.map((l) => l.name)]);

function fnv(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
const send = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
// vllm/entrypoints/openai/protocol.py ErrorResponse: {"error": {"message", "type", "param", "code"}}
const error = (res, status, type, message, param = null) => send(res, status, { error: { message, type, param, code: status } });

// request fields this version knows (chat_completion/protocol.py ChatCompletionRequest); unknown ones are
// accepted and ignored (serve/engine/protocol.py OpenAIBaseModel: `extra="allow"`, `__log_extra_fields__`
// logs "The following fields were present in the request but ignored: ...", at debug level today)
const KNOWN = new Set(['model', 'messages', 'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'n', 'logprobs', 'top_logprobs', 'stream', 'seed', 'stop', 'response_format', 'presence_penalty', 'frequency_penalty', 'user']);
if (atLeast(0, 10, 2)) KNOWN.add('structured_outputs');
if (!atLeast(0, 12, 0)) for (const f of ['guided_choice', 'guided_json', 'guided_regex', 'guided_grammar', 'guided_decoding_backend']) KNOWN.add(f);

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/version') return send(res, 200, { version: VERSION }); // api_server.py show_version
  if (req.method === 'GET' && req.url === '/health') return send(res, 200, {});
  if (req.method === 'GET' && req.url === '/v1/models') {
    const created = 1_700_000_000;
    // models/serving.py show_available_models: adapters with root = their path, parent = the base model
    return send(res, 200, { object: 'list', data: [{ id: model, object: 'model', created, owned_by: 'vllm', root: model, parent: null, max_model_len: 8192 }, ...opts.loras.map((l) => ({ id: l.name, object: 'model', created, owned_by: 'vllm', root: l.path, parent: model }))] });
  }
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return error(res, 404, 'NotFoundError', `Not Found: ${req.url}`);
  let raw = '';
  req.on('data', (d) => (raw += d));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      return error(res, 400, 'BadRequestError', 'Expecting value: line 1 column 1 (char 0)');
    }
    const ignored = Object.keys(body).filter((k) => !KNOWN.has(k));
    if (ignored.length && (process.env.VLLM_LOGGING_LEVEL ?? 'INFO').toUpperCase() === 'DEBUG') console.error(`DEBUG [protocol.py] The following fields were present in the request but ignored: {${ignored.map((k) => `'${k}'`).join(', ')}}`);
    // serving_engine.py _check_model: ErrorResponse 404 with param "model"
    if (!served.has(body.model)) return error(res, 404, 'NotFoundError', `The model \`${body.model}\` does not exist.`, 'model');
    if (!Array.isArray(body.messages) || body.messages.length === 0) return error(res, 400, 'BadRequestError', 'messages: field required');
    const parts = body.messages.flatMap((m) => (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content));
    const images = parts.filter((p) => p.type === 'image_url').length;
    // vllm/multimodal/processing/context.py BaseProcessingInfo.validate_num_items (ValueError -> 400)
    if (images > (opts.limits.image ?? 999)) return error(res, 400, 'BadRequestError', `At most ${opts.limits.image} image(s) may be provided in one prompt. Set \`--limit-mm-per-prompt\` to increase this limit.`);
    if (body.top_logprobs !== undefined && !body.logprobs) return error(res, 400, 'BadRequestError', 'when using `top_logprobs`, `logprobs` must be set to true.');
    if (body.logprobs && Number(body.top_logprobs ?? 0) > opts.maxLogprobs) return error(res, 400, 'BadRequestError', `Requested sample logprobs of ${body.top_logprobs}, which is greater than max allowed: ${opts.maxLogprobs}`);
    const text = parts.filter((p) => p.type === 'text').map((p) => p.text).join('');
    const choices = KNOWN.has('structured_outputs') && Array.isArray(body.structured_outputs?.choice) ? body.structured_outputs.choice : KNOWN.has('guided_choice') && Array.isArray(body.guided_choice) ? body.guided_choice : undefined;
    const h = fnv(`${body.model}\n${text}`);
    const content = choices?.length ? choices[h % choices.length] : (process.env.FAKE_VLLM_ANSWER ?? '根据截图内容，这是一个页面。');
    const top = Math.max(1, Number(body.top_logprobs ?? 1));
    // chat_completion/protocol.py ChatCompletionLogProbs: content[].{token, logprob, bytes, top_logprobs[]}
    const logprobs = body.logprobs
      ? {
          content: [{
            token: content.charAt(0),
            logprob: -0.05,
            bytes: [...Buffer.from(content.charAt(0))],
            top_logprobs: [content.charAt(0), ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('').filter((c) => c !== content.charAt(0))].slice(0, top).map((token, i) => ({ token, logprob: i === 0 ? -0.05 : -4 - i, bytes: [...Buffer.from(token)] })),
          }],
        }
      : null;
    send(res, 200, {
      id: `chatcmpl-${fnv(text + body.model).toString(16)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content, tool_calls: [] }, logprobs, finish_reason: 'stop', stop_reason: null }],
      usage: { prompt_tokens: Math.ceil(text.length / 2), completion_tokens: 4, total_tokens: Math.ceil(text.length / 2) + 4 },
    });
  });
});
server.listen(opts.port, opts.host, () => console.error(`INFO:     Uvicorn running on http://${opts.host}:${opts.port} (Press CTRL+C to quit)`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
