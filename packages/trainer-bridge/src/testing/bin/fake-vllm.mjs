#!/usr/bin/env node
// A faithful fake of `vllm serve <model> --enable-lora --lora-modules '{"name":..,"path":..}' ...` for
// tests without a GPU. Like vLLM it refuses to start when a LoRA adapter folder has no
// adapter_config.json or its rank exceeds --max-lora-rank, serves the OpenAI routes on --host/--port
// (GET /v1/models lists the base model and every adapter with its parent; POST /v1/chat/completions),
// answers 404 NotFoundError for a model it does not serve and 400 for a request without messages, and
// honours `structured_outputs.choice` / `guided_choice` by answering one of the choices. The answer is
// a deterministic function of the model name and the prompt (a stand-in for a trained adapter). SIGTERM
// stops it. Env: FAKE_VLLM_ANSWER=text answers that text for every request (an unconstrained model).
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const args = process.argv.slice(2);
if (args[0] === '--version') {
  console.log('0.11.2 (fake)');
  process.exit(0);
}
if (args[0] !== 'serve' || !args[1] || args[1].startsWith('-')) {
  console.error('usage: vllm serve <model_tag> [options]');
  process.exit(2);
}
const model = args[1];
const opts = { host: '127.0.0.1', port: 8000, maxLoraRank: 16, loras: [], enableLora: false };
for (let i = 2; i < args.length; i++) {
  const a = args[i];
  if (a === '--host') opts.host = args[++i];
  else if (a === '--port') opts.port = Number(args[++i]);
  else if (a === '--max-lora-rank') opts.maxLoraRank = Number(args[++i]);
  else if (a === '--enable-lora') opts.enableLora = true;
  else if (a === '--lora-modules') {
    while (i + 1 < args.length && !args[i + 1].startsWith('--')) opts.loras.push(JSON.parse(args[++i]));
  } else if (a.startsWith('--') && i + 1 < args.length && !args[i + 1].startsWith('--')) i++;
}
if (opts.loras.length && !opts.enableLora) {
  console.error('ValueError: LoRA modules were given but --enable-lora is not set');
  process.exit(1);
}
for (const l of opts.loras) {
  const cfgFile = join(l.path, 'adapter_config.json');
  if (!existsSync(cfgFile)) {
    console.error(`ValueError: Loading lora ${l.name} failed: No adapter found for ${l.path}`);
    process.exit(1);
  }
  const r = JSON.parse(readFileSync(cfgFile, 'utf8')).r;
  if (r > opts.maxLoraRank) {
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
const error = (res, status, type, message) => send(res, status, { error: { message, type, param: null, code: status } });

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/v1/models') {
    const created = 1_700_000_000;
    return send(res, 200, { object: 'list', data: [{ id: model, object: 'model', created, owned_by: 'vllm', root: model, parent: null }, ...opts.loras.map((l) => ({ id: l.name, object: 'model', created, owned_by: 'vllm', root: l.path, parent: model }))] });
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
    if (!served.has(body.model)) return error(res, 404, 'NotFoundError', `The model \`${body.model}\` does not exist.`);
    if (!Array.isArray(body.messages) || body.messages.length === 0) return error(res, 400, 'BadRequestError', 'messages: field required');
    const text = body.messages.map((m) => (typeof m.content === 'string' ? m.content : m.content.filter((p) => p.type === 'text').map((p) => p.text).join(''))).join('\n');
    const choices = body.structured_outputs?.choice ?? body.guided_choice;
    const content = process.env.FAKE_VLLM_ANSWER ?? (Array.isArray(choices) && choices.length ? choices[fnv(`${body.model}\n${text}`) % choices.length] : 'A');
    send(res, 200, {
      id: `chatcmpl-${fnv(text + body.model).toString(16)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content, tool_calls: [] }, logprobs: null, finish_reason: 'stop', stop_reason: null }],
      usage: { prompt_tokens: Math.ceil(text.length / 2), completion_tokens: 4, total_tokens: Math.ceil(text.length / 2) + 4 },
    });
  });
});
server.listen(opts.port, opts.host, () => console.error(`INFO:     Uvicorn running on http://${opts.host}:${opts.port} (Press CTRL+C to quit)`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
