#!/usr/bin/env node
// A faithful fake of `llamafactory-cli train <cfg.yaml>` for tests without a GPU. It checks the YAML
// against LLaMA-Factory's argument names (unknown keys are fatal there too), reads dataset_info.json
// and the sharegpt rows (the <image> count must equal the images), then "trains": it appends
// trainer_log.jsonl lines as LLaMA-Factory's LogCallback does, saves checkpoint-N/ every save_steps
// with adapter files and trainer_state.json, and the final adapter, trainer_state.json and
// all_results.json. Env: FAKE_LMF_STEP_MS (ms per step, default 5), FAKE_LMF_FAIL=oom@<step> or
// nan@<step>. SIGABRT stops training and still saves the model (LLAMABOARD_ENABLED behaviour).
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const KNOWN = new Set(['model_name_or_path', 'adapter_name_or_path', 'image_max_pixels', 'image_min_pixels', 'video_max_pixels', 'trust_remote_code', 'cache_dir', 'stage', 'do_train', 'do_eval', 'do_predict', 'finetuning_type', 'lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target', 'additional_target', 'use_dora', 'use_rslora', 'pissa_init', 'freeze_vision_tower', 'freeze_multi_modal_projector', 'freeze_language_model', 'train_mm_proj_only', 'deepspeed', 'dataset', 'eval_dataset', 'dataset_dir', 'media_dir', 'template', 'cutoff_len', 'max_samples', 'overwrite_cache', 'preprocessing_num_workers', 'dataloader_num_workers', 'mask_history', 'val_size', 'packing', 'output_dir', 'logging_steps', 'save_steps', 'save_strategy', 'save_total_limit', 'plot_loss', 'overwrite_output_dir', 'save_only_model', 'report_to', 'run_name', 'per_device_train_batch_size', 'per_device_eval_batch_size', 'gradient_accumulation_steps', 'learning_rate', 'num_train_epochs', 'max_steps', 'lr_scheduler_type', 'warmup_ratio', 'warmup_steps', 'weight_decay', 'bf16', 'fp16', 'ddp_timeout', 'resume_from_checkpoint', 'seed', 'eval_strategy', 'eval_steps', 'predict_with_generate', 'gradient_checkpointing', 'flash_attn', 'infer_backend', 'compute_accuracy']);

const [cmd, cfgPath, ...overrides] = process.argv.slice(2);
if (cmd === 'version') {
  console.log('llamafactory 0.9.5 (fake)');
  process.exit(0);
}
if (cmd !== 'train' || !cfgPath) {
  console.error('Usage: llamafactory-cli train <config.yaml> [key=value ...]');
  process.exit(1);
}
const cfg = parse(readFileSync(cfgPath, 'utf8'));
for (const o of overrides) {
  const [k, v] = o.split('=');
  cfg[k] = Number.isNaN(Number(v)) ? v : Number(v);
}
const unknown = Object.keys(cfg).filter((k) => !KNOWN.has(k));
if (unknown.length) {
  console.error(`ValueError: Some specified arguments are not used by the HfArgumentParser: ${JSON.stringify(unknown)}`);
  process.exit(1);
}
for (const k of ['model_name_or_path', 'stage', 'finetuning_type', 'dataset', 'template', 'output_dir']) {
  if (cfg[k] === undefined) {
    console.error(`ValueError: missing ${k}`);
    process.exit(1);
  }
}
if (cfg.template !== 'qwen2_vl') console.error(`[WARNING] template ${cfg.template} with a Qwen2-VL model`);
const info = JSON.parse(readFileSync(join(cfg.dataset_dir, 'dataset_info.json'), 'utf8'));
const entry = info[cfg.dataset];
if (!entry) {
  console.error(`ValueError: Undefined dataset ${cfg.dataset} in dataset_info.json.`);
  process.exit(1);
}
const rows = JSON.parse(readFileSync(join(cfg.dataset_dir, entry.file_name), 'utf8'));
for (const [i, r] of rows.entries()) {
  const n = r.messages.map((m) => m.content.split('<image>').length - 1).reduce((a, b) => a + b, 0);
  if (n !== r.images.length) {
    console.error(`ValueError: The number of images does not match the number of <image> tokens in ${JSON.stringify(r.messages[0].content.slice(0, 40))} (row ${i}).`);
    process.exit(1);
  }
  for (const img of r.images) if (!existsSync(img)) {
    console.error(`FileNotFoundError: ${img}`);
    process.exit(1);
  }
}
const out = cfg.output_dir;
if (cfg.overwrite_output_dir) rmSync(join(out, 'trainer_log.jsonl'), { force: true });
mkdirSync(out, { recursive: true });
const world = Number(process.env.NPROC_PER_NODE ?? 1) * Number(process.env.NNODES ?? 1);
const perEpoch = Math.max(1, Math.ceil(rows.length / (cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps * world)));
const total = Math.ceil(perEpoch * cfg.num_train_epochs);
const stepMs = Number(process.env.FAKE_LMF_STEP_MS ?? 5);
const [failKind, failStep] = (process.env.FAKE_LMF_FAIL ?? '').split('@');
let stop = false;
process.on('SIGABRT', () => (stop = true));
const t0 = Date.now();
const fmt = (s) => `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
const history = [];
const adapter = (dir) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: cfg.lora_rank, lora_alpha: cfg.lora_alpha, target_modules: cfg.lora_target, base_model_name_or_path: cfg.model_name_or_path }));
  writeFileSync(join(dir, 'adapter_model.safetensors'), Buffer.alloc(64, 1));
};
const state = (step) => ({ epoch: step / perEpoch, global_step: step, max_steps: total, logging_steps: cfg.logging_steps, save_steps: cfg.save_steps, num_train_epochs: cfg.num_train_epochs, train_batch_size: cfg.per_device_train_batch_size, log_history: history });
console.log(`[INFO] Num examples = ${rows.length}, Num Epochs = ${cfg.num_train_epochs}, Total optimization steps = ${total}`);
let step = 0;
for (step = 1; step <= total && !stop; step++) {
  await new Promise((r) => setTimeout(r, stepMs));
  if (failKind === 'oom' && step === Number(failStep)) {
    console.error('Traceback (most recent call last):\n  File "trainer.py", line 3518, in training_step\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.15 GiB of which 1.02 GiB is free.');
    process.exit(1);
  }
  const loss = failKind === 'nan' && step >= Number(failStep) ? NaN : 2.5 * Math.exp(-step / perEpoch) + 0.05;
  const lr = cfg.learning_rate * 0.5 * (1 + Math.cos((Math.PI * step) / total));
  if (step % cfg.logging_steps === 0 || step === total) {
    const el = (Date.now() - t0) / 1000;
    const line = { current_steps: step, total_steps: total, loss: Number.isNaN(loss) ? NaN : +loss.toFixed(4), lr, epoch: +(step / perEpoch).toFixed(2), percentage: +((100 * step) / total).toFixed(2), elapsed_time: fmt(el), remaining_time: fmt((el / step) * (total - step)) };
    appendFileSync(join(out, 'trainer_log.jsonl'), `${JSON.stringify(line).replace('null', 'NaN')}\n`);
    history.push({ epoch: line.epoch, learning_rate: lr, loss: line.loss, step });
  }
  if (step % cfg.save_steps === 0) {
    const ck = join(out, `checkpoint-${step}`);
    adapter(ck);
    writeFileSync(join(ck, 'trainer_state.json'), JSON.stringify(state(step), null, 2));
  }
}
const last = Math.min(step - 1, total);
adapter(out);
writeFileSync(join(out, 'trainer_state.json'), JSON.stringify(state(last), null, 2));
const results = { epoch: last / perEpoch, train_loss: history.length ? history.reduce((a, h) => a + (h.loss || 0), 0) / history.length : 0, train_runtime: (Date.now() - t0) / 1000 };
writeFileSync(join(out, 'train_results.json'), JSON.stringify(results, null, 4));
writeFileSync(join(out, 'all_results.json'), JSON.stringify(results, null, 4));
console.log(stop ? '[INFO] Training aborted by the user; model saved.' : '[INFO] Training completed.');
