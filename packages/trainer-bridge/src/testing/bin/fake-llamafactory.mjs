#!/usr/bin/env node
// A faithful fake of `llamafactory-cli train <cfg.yaml>` for tests without a GPU. Every behaviour below
// is LLaMA-Factory's (0.9.6.dev0, hiyouga/LLaMA-Factory @ ff6d4d12, read 2026-12) or transformers'
// Trainer's; the upstream file and symbol are named next to each.
//
// The machine: FAKE_GPUS GPUs (default 1); CUDA_VISIBLE_DEVICES narrows them as CUDA does.
// Env knobs: FAKE_LMF_STEP_MS (wall ms per step, default 5), FAKE_LMF_STEP_SECONDS (simulated seconds
// per step for elapsed_time / remaining_time, default: the real time), FAKE_LMF_SAVE_MS (time the final
// save takes, default 0), FAKE_LMF_FAIL=oom@<step> | nan@<step> | inf@<step>.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const VERSION = '0.9.6.dev0'; // src/llamafactory/extras/env.py VERSION

// Argument names of LLaMA-Factory's ModelArguments, DataArguments, TrainingArguments (transformers'
// Seq2SeqTrainingArguments), FinetuningArguments and GeneratingArguments that the tests meet.
const KNOWN = new Set(['model_name_or_path', 'adapter_name_or_path', 'image_max_pixels', 'image_min_pixels', 'video_max_pixels', 'trust_remote_code', 'cache_dir', 'stage', 'do_train', 'do_eval', 'do_predict', 'finetuning_type', 'lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target', 'additional_target', 'use_dora', 'use_rslora', 'pissa_init', 'freeze_vision_tower', 'freeze_multi_modal_projector', 'freeze_language_model', 'train_mm_proj_only', 'deepspeed', 'dataset', 'eval_dataset', 'dataset_dir', 'media_dir', 'template', 'cutoff_len', 'max_samples', 'overwrite_cache', 'preprocessing_num_workers', 'dataloader_num_workers', 'mask_history', 'val_size', 'packing', 'output_dir', 'logging_steps', 'logging_nan_inf_filter', 'save_steps', 'save_strategy', 'save_total_limit', 'plot_loss', 'overwrite_output_dir', 'save_only_model', 'report_to', 'run_name', 'per_device_train_batch_size', 'per_device_eval_batch_size', 'gradient_accumulation_steps', 'learning_rate', 'num_train_epochs', 'max_steps', 'lr_scheduler_type', 'warmup_ratio', 'warmup_steps', 'weight_decay', 'bf16', 'fp16', 'ddp_timeout', 'resume_from_checkpoint', 'seed', 'eval_strategy', 'eval_steps', 'predict_with_generate', 'gradient_checkpointing', 'flash_attn', 'infer_backend', 'compute_accuracy']);
const CHECKPOINT_NAMES = ['adapter_model.safetensors', 'adapter_model.bin', 'model.safetensors.index.json', 'model.safetensors', 'pytorch_model.bin.index.json', 'pytorch_model.bin']; // extras/constants.py CHECKPOINT_NAMES

// Node resets every inherited signal disposition at start-up (src/node.cc PlatformInit), CPython keeps
// an inherited SIG_IGN; the shim that starts this script reads the inherited mask (SigIgn in
// /proc/<pid>/status) and hands it over, so the fake ignores SIGABRT exactly when Python would.
const abrtIgnored = (BigInt(`0x${process.env.FAKE_SIGIGN || '0'}`) & (1n << 5n)) !== 0n;
const env = process.env;
const enabled = (name) => ['true', 'y', '1'].includes(String(env[name] ?? '0').toLowerCase()); // extras/misc.py is_env_enabled

const argv = process.argv.slice(2);
if (argv[0] === '__worker') await worker(argv.slice(1));
else await launch(argv);

/** src/llamafactory/launcher.py launch(). */
async function launch(args) {
  const [command = 'help', ...rest] = args;
  if (command === 'version') {
    // launcher.py WELCOME
    console.log(`${'-'.repeat(58)}\n| Welcome to LLaMA Factory, version ${VERSION}${' '.repeat(21 - VERSION.length)}|\n|${' '.repeat(56)}|\n| Project page: https://github.com/hiyouga/LLaMA-Factory |\n${'-'.repeat(58)}`);
    return;
  }
  if (command !== 'train') {
    console.error(`Unknown command: ${command}.`);
    process.exit(1);
  }
  const deviceCount = visibleDevices().length; // extras/misc.py get_device_count
  if (!(enabled('FORCE_TORCHRUN') || deviceCount > 1)) {
    // one process: run_exp() in the launcher itself
    return worker(rest, { rank: 0, world: 1 });
  }
  // launch distributed training: torchrun on NPROC_PER_NODE (default: every visible device) processes
  const nnodes = Number(env.NNODES ?? '1');
  const nodeRank = Number(env.NODE_RANK ?? '0');
  const nproc = Number(env.NPROC_PER_NODE ?? String(deviceCount));
  console.error(`[INFO|launcher.py] Initializing ${nproc} distributed tasks at: ${env.MASTER_ADDR ?? '127.0.0.1'}:${env.MASTER_PORT ?? '29500'}`);
  // the torchrun command is built with `" ".join(sys.argv[1:])` and `.split()`: white space in an
  // argument splits it into several
  const rebuilt = rest.join(' ').split(/\s+/).filter(Boolean);
  // neither launcher.py nor torchrun (torch/distributed/elastic: handlers for SIGTERM, SIGINT, SIGHUP,
  // SIGQUIT only) handle SIGABRT: its default action ends them at once, unless it was ignored
  // (exit status 134 stands for the death by SIGABRT, without the core file a real abort may leave)
  if (abrtIgnored) process.on('SIGABRT', () => {});
  else process.on('SIGABRT', () => process.exit(134));
  // torchrun starts each worker in a new session (torch/distributed/elastic/multiprocessing/
  // subprocess_handler/subprocess_handler.py `_popen`: start_new_session=True); a worker on a device
  // index past the visible ones fails in torch.cuda.set_device
  const devices = visibleDevices().length;
  const workers = [];
  for (let local = 0; local < nproc; local++) {
    const rank = nodeRank * nproc + local;
    workers.push(spawn(process.execPath, [process.argv[1], '__worker', ...rebuilt], {
      detached: true,
      stdio: 'inherit',
      env: { ...env, RANK: String(rank), LOCAL_RANK: String(local), WORLD_SIZE: String(nproc * nnodes), LOCAL_WORLD_SIZE: String(nproc), ...(local >= devices ? { FAKE_INVALID_DEVICE: '1' } : {}) },
    }));
  }
  const codes = await Promise.all(workers.map((w) => new Promise((r) => w.on('exit', (code, signal) => r(code ?? (signal ? 1 : 0))))));
  const bad = codes.find((c) => c !== 0);
  if (bad !== undefined) {
    // subprocess.run(..., check=True)
    console.error(`subprocess.CalledProcessError: Command '['torchrun', ...]' returned non-zero exit status ${bad}.`);
    process.exit(1);
  }
}

function visibleDevices() {
  const all = Array.from({ length: Number(env.FAKE_GPUS ?? '1') }, (_, i) => String(i));
  if (env.CUDA_VISIBLE_DEVICES === undefined) return all;
  return env.CUDA_VISIBLE_DEVICES.split(',').map((d) => d.trim()).filter((d) => all.includes(d));
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

async function worker(args, given) {
  if (env.FAKE_INVALID_DEVICE === '1') fail(`torch.AcceleratorError: CUDA error: invalid device ordinal (LOCAL_RANK ${env.LOCAL_RANK}, ${visibleDevices().length} visible)`);
  const rank = given?.rank ?? Number(env.RANK ?? '0');
  const world = given?.world ?? Number(env.WORLD_SIZE ?? '1');
  const main = rank === 0;
  // hparams/parser.py read_args: a YAML config plus key=value overrides (OmegaConf), else CLI arguments
  const [cfgPath, ...overrides] = args;
  if (!cfgPath || !(cfgPath.endsWith('.yaml') || cfgPath.endsWith('.yml') || cfgPath.endsWith('.json'))) {
    // _parse_args -> parse_args_into_dataclasses(return_remaining_strings=True)
    fail(`Got unknown args, potentially deprecated arguments: ${JSON.stringify(args)}\nValueError: Some specified arguments are not used by the HfArgumentParser: ${JSON.stringify(args)}`);
  }
  if (!existsSync(cfgPath)) fail(`FileNotFoundError: [Errno 2] No such file or directory: '${cfgPath}'`);
  const cfg = parse(readFileSync(cfgPath, 'utf8'));
  for (const o of overrides) {
    const [k, v] = o.split('=');
    cfg[k] = Number.isNaN(Number(v)) ? v : Number(v);
  }
  // transformers hf_argparser.py HfArgumentParser.parse_dict(allow_extra_keys=False)
  const unknown = Object.keys(cfg).filter((k) => !KNOWN.has(k)).sort();
  if (unknown.length) fail(`Traceback (most recent call last):\n  File "hf_argparser.py", in parse_dict\nValueError: Some keys are not used by the HfArgumentParser: [${unknown.map((k) => `'${k}'`).join(', ')}]`);
  for (const k of ['model_name_or_path', 'stage', 'finetuning_type', 'dataset', 'template', 'output_dir']) {
    if (cfg[k] === undefined) fail(`ValueError: missing ${k}`);
  }
  if (cfg.template !== 'qwen2_vl') console.error(`[WARNING] template ${cfg.template} with a Qwen2-VL model`);
  const info = JSON.parse(readFileSync(join(cfg.dataset_dir, 'dataset_info.json'), 'utf8'));
  const entry = info[cfg.dataset];
  if (!entry) fail(`ValueError: Undefined dataset ${cfg.dataset} in dataset_info.json.`);
  const rows = JSON.parse(readFileSync(join(cfg.dataset_dir, entry.file_name), 'utf8'));
  for (const [i, r] of rows.entries()) {
    const n = r.messages.map((m) => m.content.split('<image>').length - 1).reduce((a, b) => a + b, 0);
    if (n !== r.images.length) fail(`ValueError: The number of images does not match the number of <image> tokens in ${JSON.stringify(r.messages[0].content.slice(0, 40))} (row ${i}).`);
    for (const img of r.images) if (!existsSync(img)) fail(`FileNotFoundError: ${img}`);
  }
  const out = cfg.output_dir;
  const overwrite = cfg.overwrite_output_dir === true;
  // hparams/parser.py get_train_args: without overwrite_output_dir and resume_from_checkpoint, resume from
  // get_last_checkpoint(output_dir); refuse a folder that holds a model but no checkpoint
  let resume = cfg.resume_from_checkpoint ?? undefined;
  if (resume === undefined && cfg.do_train !== false && existsSync(out) && !overwrite) {
    const last = lastCheckpoint(out);
    if (last === undefined && CHECKPOINT_NAMES.some((n) => existsSync(join(out, n)))) fail('ValueError: Output directory already exists and is not empty. Please set `overwrite_output_dir`.');
    if (last !== undefined) {
      resume = last;
      if (main) console.error(`[INFO|parser.py] Resuming training from ${resume}.\n[INFO|parser.py] Change \`output_dir\` or use \`overwrite_output_dir\` to avoid.`);
    }
  }
  // train/callbacks.py LogCallback.on_init_end: the previous trainer log is deleted with overwrite_output_dir
  if (main && overwrite && existsSync(join(out, 'trainer_log.jsonl'))) {
    console.error('[WARNING|callbacks.py] Previous trainer log in this folder will be deleted.');
    rmSync(join(out, 'trainer_log.jsonl'));
  }
  mkdirSync(out, { recursive: true });
  // transformers trainer.py: each process's dataloader holds ceil(ceil(rows / batch) / world) batches;
  // set_initial_training_values: update steps per epoch = ceil(batches / accumulation), max_steps =
  // ceil(epochs x steps per epoch)
  const batches = Math.ceil(Math.ceil(rows.length / cfg.per_device_train_batch_size) / world);
  const perEpoch = Math.max(1, Math.ceil(batches / cfg.gradient_accumulation_steps));
  const total = Math.ceil(perEpoch * cfg.num_train_epochs);
  // training_args.py: save_steps < 1 is a ratio of the total training steps (ceil(max_steps x ratio))
  const saveSteps = cfg.save_steps < 1 ? Math.ceil(total * cfg.save_steps) : cfg.save_steps;
  const loggingSteps = cfg.logging_steps < 1 ? Math.ceil(total * cfg.logging_steps) : (cfg.logging_steps ?? 500);
  const nanFilter = cfg.logging_nan_inf_filter ?? true; // training_args.py logging_nan_inf_filter: bool = True
  const stepMs = Number(env.FAKE_LMF_STEP_MS ?? 5);
  const [failKind, failStep] = (env.FAKE_LMF_FAIL ?? '').split('@');

  let history = [];
  let start = 0;
  if (resume !== undefined) {
    // Trainer._load_from_checkpoint + TrainerState.load_from_json: global_step and log_history go on
    const stateFile = join(resume, 'trainer_state.json');
    if (!existsSync(stateFile)) fail(`ValueError: Can't find a valid checkpoint at ${resume}`);
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    start = state.global_step;
    history = state.log_history ?? [];
    if (main) console.error(`[INFO|trainer.py]   Continuing training from checkpoint, will skip to saved global_step\n[INFO|trainer.py]   Continuing training from global step ${start}`);
  }

  // LogCallback.__init__: under LLAMABOARD_ENABLED, SIGABRT sets `aborted`; on_step_end then stops
  // training and run_sft saves the model as after a normal end (train/sft/workflow.py)
  let aborted = false;
  if (enabled('LLAMABOARD_ENABLED')) process.on('SIGABRT', () => (aborted = true));
  else if (abrtIgnored) process.on('SIGABRT', () => {});
  else process.on('SIGABRT', () => process.exit(134));

  const t0 = Date.now();
  const simulated = env.FAKE_LMF_STEP_SECONDS === undefined ? undefined : Number(env.FAKE_LMF_STEP_SECONDS);
  // LogCallback._timing: str(timedelta(seconds=int(...)))
  const timedelta = (s) => {
    const sec = Math.floor(s);
    const days = Math.floor(sec / 86_400);
    const rest = sec % 86_400;
    const hms = `${Math.floor(rest / 3600)}:${String(Math.floor((rest % 3600) / 60)).padStart(2, '0')}:${String(rest % 60).padStart(2, '0')}`;
    return days ? `${days} day${days === 1 ? '' : 's'}, ${hms}` : hms;
  };
  const adapter = (dir) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: cfg.lora_rank, lora_alpha: cfg.lora_alpha, lora_dropout: cfg.lora_dropout, target_modules: cfg.lora_target, base_model_name_or_path: cfg.model_name_or_path }));
    writeFileSync(join(dir, 'adapter_model.safetensors'), Buffer.alloc(64, 1));
  };
  const state = (step) => ({ epoch: step / perEpoch, global_step: step, max_steps: total, logging_steps: loggingSteps, save_steps: saveSteps, num_train_epochs: cfg.num_train_epochs, train_batch_size: cfg.per_device_train_batch_size, log_history: history });
  if (main) console.log(`[INFO|trainer.py] ***** Running training *****\n[INFO|trainer.py]   Num examples = ${rows.length}\n[INFO|trainer.py]   Num Epochs = ${cfg.num_train_epochs}\n[INFO|trainer.py]   Total optimization steps = ${total}\n[INFO|trainer.py]   World size = ${world}\n[INFO|trainer.py]   CUDA devices = ${visibleDevices().join(',')}`);
  let lossSum = 0; // trainer.py tr_loss since the last log
  let lastLogged = start;
  let step = start;
  while (step < total && !aborted) {
    step++;
    await new Promise((r) => setTimeout(r, stepMs));
    if (failKind === 'oom' && step === Number(failStep)) {
      console.error('Traceback (most recent call last):\n  File "trainer.py", line 3518, in training_step\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.15 GiB of which 1.02 GiB is free.');
      process.exit(1);
    }
    const bad = (failKind === 'nan' || failKind === 'inf') && step >= Number(failStep);
    const stepLoss = bad ? (failKind === 'nan' ? NaN : Infinity) : 2.5 * Math.exp(-step / perEpoch) + 0.05;
    // trainer.py _inner_training_loop: with logging_nan_inf_filter a NaN / inf step loss is replaced by
    // the mean of the losses since the last log ("if loss is nan or inf simply add the average of
    // previous logged losses")
    if (nanFilter && !Number.isFinite(stepLoss)) lossSum += lossSum / (1 + step - 1 - lastLogged);
    else lossSum += stepLoss;
    const lr = cfg.learning_rate * 0.5 * (1 + Math.cos((Math.PI * step) / total));
    if (step % loggingSteps === 0 || step === total) {
      const loss = lossSum / (step - lastLogged);
      lossSum = 0;
      lastLogged = step;
      const el = simulated === undefined ? (Date.now() - t0) / 1000 : simulated * (step - start);
      const entry = { loss: Number.isFinite(loss) ? +loss.toFixed(4) : loss, learning_rate: lr, epoch: +(step / perEpoch).toFixed(2), step };
      history.push(entry);
      if (main) {
        // LogCallback.on_log -> _write_log: json.dumps, which writes NaN / Infinity as they are
        const line = { current_steps: step, total_steps: total, loss: entry.loss, lr, epoch: entry.epoch, percentage: +((100 * step) / total).toFixed(2), elapsed_time: timedelta(el), remaining_time: timedelta((el / (step - start)) * (total - step)) };
        appendFileSync(join(out, 'trainer_log.jsonl'), `${JSON.stringify(line).replace(/"loss":null/, `"loss":${Number.isNaN(entry.loss) ? 'NaN' : 'Infinity'}`)}\n`);
      }
    }
    // DefaultFlowCallback.on_step_end: save every save_steps and at the last step (global_step >= max_steps)
    if (main && (step % saveSteps === 0 || step === total)) {
      const ck = join(out, `checkpoint-${step}`);
      adapter(ck);
      writeFileSync(join(ck, 'trainer_state.json'), JSON.stringify(state(step), null, 2)); // written last (_save_checkpoint)
    }
  }
  if (!main) return;
  if (aborted) await new Promise((r) => setTimeout(r, Number(env.FAKE_LMF_SAVE_MS ?? 0)));
  // train/sft/workflow.py run_sft: trainer.save_model(), log_metrics / save_metrics('train'), save_state()
  adapter(out);
  const results = { epoch: step / perEpoch, train_loss: history.length ? history.reduce((a, h) => a + (Number.isFinite(h.loss) ? h.loss : 0), 0) / history.length : 0, train_runtime: (Date.now() - t0) / 1000 };
  writeFileSync(join(out, 'train_results.json'), JSON.stringify(results, null, 4));
  writeFileSync(join(out, 'all_results.json'), JSON.stringify(results, null, 4));
  writeFileSync(join(out, 'trainer_state.json'), JSON.stringify(state(step), null, 2));
  console.log(aborted ? '[INFO] Training aborted by the user; model saved.' : '[INFO] Training completed.');
}

/** transformers trainer_utils.py get_last_checkpoint: the highest `checkpoint-N` folder. */
function lastCheckpoint(folder) {
  const found = readdirSync(folder)
    .filter((n) => /^checkpoint-\d+$/.test(n) && statSync(join(folder, n)).isDirectory())
    .sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));
  return found.length ? join(folder, found[found.length - 1]) : undefined;
}
