#!/usr/bin/env node
// A faithful fake of `swift sft --tuner_type lora ...` (ms-swift 4.6.0.dev0, modelscope/ms-swift @
// 3602360a, read 2026-12) for tests without a GPU. Each behaviour cites its upstream file and symbol.
// The machine: FAKE_GPUS GPUs (default 1), narrowed by CUDA_VISIBLE_DEVICES.
// Knobs: FAKE_SWIFT_STEP_MS (wall ms per step, default 5), FAKE_SWIFT_FAIL=nan@<step>.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const VERSION = '4.6.0.dev0'; // swift/version.py
const env = process.env;
const argv = process.argv.slice(2);

if (argv[0] === '__worker') await sft(argv.slice(1));
else await main(argv);

/** swift/cli/main.py cli_main: the subcommand, then torchrun only when NPROC_PER_NODE or NNODES is set. */
async function main(args) {
  const [command, ...rest] = args;
  if (command !== 'sft') {
    // ROUTE_MAPPING[method_name]: no --version, an unknown subcommand is a KeyError
    console.error(`Traceback (most recent call last):\nKeyError: '${command}'`);
    process.exit(1);
  }
  const nproc = env.NPROC_PER_NODE;
  const nnodes = env.NNODES;
  if (nproc === undefined && nnodes === undefined) return sft(rest, { rank: 0, world: 1 });
  // get_torchrun_args: only the variables that are set; no default MASTER_PORT (torchrun's 29500)
  const n = Number(nproc ?? '1');
  const nodes = Number(nnodes ?? '1');
  const nodeRank = Number(env.NODE_RANK ?? '0');
  console.log(`run sh: \`python -m torch.distributed.run --nproc_per_node ${n}${nnodes ? ` --nnodes ${nodes}` : ''} --master_port ${env.MASTER_PORT ?? '29500'} swift/cli/sft.py ${rest.join(' ')}\``);
  // torchrun: each worker in a new session (subprocess_handler.py `_popen`: start_new_session=True)
  const workers = Array.from({ length: n }, (_, local) => spawn(process.execPath, [process.argv[1], '__worker', ...rest], { detached: true, stdio: 'inherit', env: { ...env, RANK: String(nodeRank * n + local), LOCAL_RANK: String(local), WORLD_SIZE: String(n * nodes) } }));
  const codes = await Promise.all(workers.map((w) => new Promise((r) => w.on('exit', (code) => r(code ?? 1)))));
  // subprocess.run(args); sys.exit(result.returncode) when non-zero
  process.exit(Math.max(...codes));
}

function fail(message) {
  console.error(message);
  process.exit(1);
}

async function sft(args, given) {
  const rank = given?.rank ?? Number(env.RANK ?? '0');
  const world = given?.world ?? Number(env.WORLD_SIZE ?? '1');
  const main = rank === 0;
  // swift/pipelines/base.py _parse_args: HfArgumentParser over SftArguments; what remains is an error
  const KNOWN = new Set(['model', 'use_hf', 'tuner_type', 'dataset', 'torch_dtype', 'num_train_epochs', 'per_device_train_batch_size', 'gradient_accumulation_steps', 'learning_rate', 'lora_rank', 'lora_alpha', 'lora_dropout', 'target_modules', 'freeze_vit', 'freeze_aligner', 'max_length', 'save_steps', 'logging_steps', 'output_dir', 'add_version', 'create_checkpoint_symlink', 'logging_nan_inf_filter', 'report_to', 'seed', 'task_type', 'num_labels', 'deepspeed', 'resume_from_checkpoint', 'resume_only_model', 'max_pixels', 'split_dataset_ratio', 'val_dataset', 'save_strategy', 'eval_strategy']);
  const opts = {};
  const remaining = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) {
      remaining.push(a);
      continue;
    }
    const key = a.slice(2);
    if (!KNOWN.has(key)) {
      remaining.push(a);
      if (i + 1 < args.length && !args[i + 1].startsWith('--')) remaining.push(args[++i]);
      continue;
    }
    opts[key] = args[++i];
  }
  if (remaining.length) fail(`ValueError: remaining_argv: ${JSON.stringify(remaining).replace(/"/g, "'")}`);
  const bool = (v, d) => (v === undefined ? d : ['true', '1'].includes(String(v).toLowerCase()));
  if (main) console.log(`[INFO:swift] swift.__version__: ${VERSION}`);
  // swift/model/model_meta.py get_model_info_meta: seq_cls needs num_labels
  if (opts.task_type === 'seq_cls' && opts.num_labels === undefined) fail("AssertionError: Please pass the parameter `num_labels`.");
  const lora = { r: Number(opts.lora_rank ?? 8), lora_alpha: Number(opts.lora_alpha ?? 32), lora_dropout: Number(opts.lora_dropout ?? 0.05) }; // swift/arguments/tuner_args.py TunerArguments
  const rows = readFileSync(opts.dataset, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  for (const r of rows) for (const img of r.images ?? []) if (!existsSync(img)) fail(`FileNotFoundError: [Errno 2] No such file or directory: '${img}'`);
  // swift/utils/utils.py add_version_to_work_dir; --add_version false: makedirs(exist_ok=True), appends
  const out = resolve(opts.output_dir);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'args.json'), JSON.stringify({ ...opts, swift_version: VERSION, lora }, null, 2));
  const batch = Number(opts.per_device_train_batch_size ?? 1);
  const accumulation = Number(opts.gradient_accumulation_steps ?? 1);
  const perEpoch = Math.max(1, Math.ceil(Math.ceil(Math.ceil(rows.length / batch) / world) / accumulation)); // HF Trainer set_initial_training_values
  const total = Math.ceil(perEpoch * Number(opts.num_train_epochs ?? 3));
  const saveSteps = Number(opts.save_steps ?? 500);
  const loggingSteps = Number(opts.logging_steps ?? 5);
  const nanFilter = bool(opts.logging_nan_inf_filter, true); // transformers training_args.py default True
  const [failKind, failStep] = (env.FAKE_SWIFT_FAIL ?? '').split('@');
  let start = 0;
  let history = [];
  if (opts.resume_from_checkpoint) {
    const state = JSON.parse(readFileSync(join(opts.resume_from_checkpoint, 'trainer_state.json'), 'utf8'));
    start = state.global_step;
    history = state.log_history ?? [];
  }
  // swift/utils/utils.py format_time
  const formatTime = (s) => {
    const t = Math.round(s);
    const d = Math.floor(t / 86_400);
    const h = Math.floor((t % 86_400) / 3600);
    const m = Math.floor((t % 3600) / 60);
    const sec = t % 60;
    return d > 0 ? `${d}d ${h}h ${m}m ${sec}s` : h > 0 ? `${h}h ${m}m ${sec}s` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
  };
  const t0 = Date.now();
  const save = (step) => {
    // swift/trainers/mixin.py SwiftMixin._save + HF _save_checkpoint (trainer_state.json last)
    const ck = join(out, `checkpoint-${step}`);
    mkdirSync(ck, { recursive: true });
    writeFileSync(join(ck, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', ...lora, base_model_name_or_path: opts.model }));
    writeFileSync(join(ck, 'adapter_model.safetensors'), Buffer.alloc(64, 1));
    writeFileSync(join(ck, 'args.json'), readFileSync(join(out, 'args.json')));
    writeFileSync(join(ck, 'trainer_state.json'), JSON.stringify({ global_step: step, max_steps: total, epoch: step / perEpoch, log_history: history, best_model_checkpoint: null }, null, 2));
    return ck;
  };
  let lastCheckpoint;
  let lossSum = 0;
  let lastLogged = start;
  for (let step = start + 1; step <= total; step++) {
    await new Promise((r) => setTimeout(r, Number(env.FAKE_SWIFT_STEP_MS ?? 5)));
    const stepLoss = failKind === 'nan' && step >= Number(failStep) ? NaN : 2.5 * Math.exp(-step / perEpoch) + 0.05;
    if (nanFilter && !Number.isFinite(stepLoss)) lossSum += lossSum / (1 + step - 1 - lastLogged);
    else lossSum += stepLoss;
    if (step % loggingSteps === 0 || step === total) {
      const loss = lossSum / (step - lastLogged);
      lossSum = 0;
      lastLogged = step;
      const el = (Date.now() - t0) / 1000;
      const entry = { loss: Number.isFinite(loss) ? +loss.toFixed(8) : loss, grad_norm: 1.5, learning_rate: Number(opts.learning_rate ?? 1e-4), token_acc: 0.5, epoch: +(step / perEpoch).toFixed(8), 'global_step/max_steps': `${step}/${total}`, elapsed_time: formatTime(el), remaining_time: formatTime((el / (step - start)) * (total - step)), 'train_speed(s/it)': +(el / (step - start)).toFixed(6) };
      history.push({ loss: entry.loss, learning_rate: entry.learning_rate, epoch: entry.epoch, step });
      // swift/trainers/patcher.py add_train_message; rank 0 appends to logging.jsonl
      if (main) appendFileSync(join(out, 'logging.jsonl'), `${JSON.stringify(entry).replace(/"loss":null/, '"loss":NaN')}\n`);
    }
    // DefaultFlowCallbackNew.on_step_end: a save every save_steps and at global_step == max_steps
    if (main && (step % saveSteps === 0 || step === total)) lastCheckpoint = save(step);
  }
  if (!main) return;
  // swift/pipelines/train/sft.py SwiftSft._handle_trainer_state (in the finally of train): the links
  // last -> last_model_checkpoint and best -> best_model_checkpoint, with no checks; without an eval
  // set best_model_checkpoint is None (TypeError), on a rerun into the folder the link exists
  if (bool(opts.create_checkpoint_symlink, false) && lastCheckpoint) {
    const link = join(out, 'last');
    if (existsSync(link)) fail(`Traceback (most recent call last):\nFileExistsError: [Errno 17] File exists: '${lastCheckpoint}' -> '${link}'`);
    symlinkSync(lastCheckpoint, link);
    fail("Traceback (most recent call last):\n  File \"swift/pipelines/train/sft.py\", in _handle_trainer_state\n    os.symlink(state.best_model_checkpoint, best_checkpoint)\nTypeError: symlink: src should be string, bytes or os.PathLike, not NoneType");
  }
  // the summary record that ends logging.jsonl
  appendFileSync(join(out, 'logging.jsonl'), `${JSON.stringify({ last_model_checkpoint: lastCheckpoint ?? null, best_model_checkpoint: null, best_metric: null, global_step: total, log_history: history })}\n`);
  console.log(`[INFO:swift] last_model_checkpoint: ${lastCheckpoint}`);
}
