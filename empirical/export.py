"""Export counterexample records as lm-evaluation-harness tasks (v0.4 YAML + one JSONL + utils.py).

Each record is asked the way it was verified, and scored the way it was judged:

- the prompt is stored as the model read it (`text`): the record's chat template applied or
  not, with the special tokens `answer()` puts first, checked at export time to tokenize, the
  way lm_eval's `hf` model tokenizes a context, into exactly the ids `answer()` feeds the model;
  so a run mixes chat and plain records and must not add `--apply_chat_template`;
- records are split into one task per model and decoding (`<prefix>_<model>_<decoding>_max<N>`),
  since lm_eval's generation settings belong to a task: max_gen_toks is the record's
  max_new_tokens, generation stops only at the end-of-sequence token (as in `answer()`), and
  a sampled record is drawn with its temperature and seed by `utils.SeededSampling`, the same
  draw as `answer()`; one group per model (`<prefix>_<model>`) and one for all (`<prefix>`);
- the metric `correct` is the project's `judge()` (`process_results: !function utils.process_results`),
  1 when the expected answer is a whole word of the reply;
- each document carries its provenance: model, model_sha256, decoding, theorem, task, the
  source file and the record's index in it (as `replay` numbers it), the recorded output.

A model's records are asked as verified only on that model's weights (model_sha256); with batch
size 1 lm_eval's score of a record equals `replay`'s judgement (tests/empirical/test_lm_eval_export.py):

    lm_eval --model hf --model_args pretrained=FOLDER,dtype=float32 --batch_size 1 \
            --include_path results/counterexamples/lm_eval --tasks limits_counterexamples_smollm2

The data file is found beside utils.py, whatever directory lm_eval is started from.
"""
from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from .counterexamples import Decoding, Record, chat_ids
from .haystack import bos_ids

TASK = "limits_counterexamples"
HEADER = "# lm-evaluation-harness task (v0.4 format), written by empirical/export.py."
UTILS = Path(__file__).resolve().parent / "lm_eval_utils.py"


class ExportError(ValueError):
    """A prompt that lm_eval would not tokenize into the ids the record's model read."""


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML double-quoted scalars)."""
    return json.dumps(text)


def _number(value: float) -> str:
    return format(value, "g").replace(".", "p").replace("-", "m")


def sampling_name(decoding: Decoding) -> str:
    """The utils attribute that samples like `decoding` (resolved by utils' module __getattr__)."""
    return f"sampling_t{_number(decoding.temperature)}_seed{decoding.seed}"


def task_name(prefix: str, model: str, decoding: Decoding) -> str:
    label = "greedy" if decoding.temperature == 0 else f"t{_number(decoding.temperature)}_seed{decoding.seed}"
    return f"{prefix}_{model_key(model)}_{label}_max{decoding.max_new_tokens}"


def model_key(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", model).strip("_") or "model"


def harness_ids(tokenizer, text: str) -> list[int]:
    """The ids lm_eval's `hf` model (HFLM.tok_batch_encode, batch size 1) makes of a context:
    no special tokens added when the text starts with the BOS token, the tokenizer's own ones
    otherwise (unless --model_args add_bos_token is given)."""
    bos = getattr(tokenizer, "bos_token", None)
    add = not (isinstance(bos, str) and bos and text.startswith(bos))
    return list(tokenizer(text, add_special_tokens=add).input_ids)


def rendered(tokenizer, prompt: str, chat: bool) -> str:
    """The text whose harness tokenization is exactly what `answer()` feeds the model."""
    if chat and getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                             add_generation_prompt=True, tokenize=False)
    else:
        text = tokenizer.decode(bos_ids(tokenizer), skip_special_tokens=False) + prompt
    if harness_ids(tokenizer, text) != chat_ids(tokenizer, prompt, chat):
        raise ExportError(f"lm_eval would not read the prompt {prompt[:40]!r}... as answer() does "
                          f"(chat={chat}): its tokenization of the rendered text differs")
    return text


def _source(source) -> str | None:
    if source is None:
        return None
    from checker.paths import project_root
    path = Path(source).resolve()
    try:
        return str(path.relative_to(project_root()))
    except ValueError:
        return str(path)


def documents(records: list[Record], tokenizers: Mapping[str, object], prefix: str = TASK,
              source=None) -> list[dict]:
    """One harness document per record, in record order."""
    docs = []
    for index, r in enumerate(records):
        decoding = Decoding(**r.decoding)
        tokenizer = tokenizers[r.model]
        docs.append({"lm_eval_task": task_name(prefix, r.model, decoding),
                     "text": rendered(tokenizer, r.prompt, decoding.chat),
                     "chat_template_applied": bool(decoding.chat and getattr(tokenizer, "chat_template", None)),
                     "prompt": r.prompt, "target": r.expected, "theorem": r.theorem, "task": r.task,
                     "model": r.model, "model_sha256": r.model_sha256, "decoding": r.decoding,
                     "source_file": _source(source), "source_record": index,
                     "recorded_output": r.output, "recorded_correct": r.correct})
    return docs


def _decoding_comment(decoding: Decoding) -> list[str]:
    if decoding.temperature == 0:
        return ["# Greedy, as the records were verified: do_sample false."]
    return [f"# Sampled at T = {decoding.temperature:g} with seed {decoding.seed}, as the records were verified:",
            "# utils.SeededSampling draws each token as empirical.counterexamples.answer() does",
            "# (softmax(logits / T), torch.multinomial with a torch.Generator seeded by the seed at the",
            "# first token of each prompt) and forces it; HF's own sampling (global RNG, top-k/top-p",
            "# defaults) stays off (do_sample false). Needs --batch_size 1."]


def task_yaml(name: str, data_file: str, model: str, sha256: str, decoding: Decoding, count: int,
              templated: bool) -> str:
    lines = [HEADER,
             f"# {count} record(s) of {model} (weights sha256 {sha256}), decoding {decoding.label}, "
             f"{'chat template' if templated else 'no chat template'}, up to {decoding.max_new_tokens} "
             "new tokens.",
             "# Each document's `text` is the prompt as the model read it: do not add --apply_chat_template.",
             *_decoding_comment(decoding),
             "# correct: empirical.counterexamples.judge (the expected answer is a whole word of the reply).",
             f"task: {name}",
             "custom_dataset: !function utils.load_docs",
             "dataset_kwargs:",
             f"  data_file: {_q(data_file)}",
             f"  lm_eval_task: {name}",
             "test_split: test",
             "output_type: generate_until",
             "doc_to_text: !function utils.doc_to_text",
             "doc_to_target: target",
             "process_results: !function utils.process_results",
             "generation_kwargs:",
             "  until: []",
             f"  max_gen_toks: {decoding.max_new_tokens}",
             "  do_sample: false",
             "  temperature: 0.0"]
    if decoding.temperature != 0:
        lines.append(f"  logits_processor: !function utils.{sampling_name(decoding)}")
    lines += ["metric_list:",
              "  - metric: correct",
              "    aggregation: mean",
              "    higher_is_better: true",
              "metadata:",
              "  version: 2.0",
              f"  model: {_q(model)}",
              f"  model_sha256: {_q(sha256)}",
              f"  temperature: {decoding.temperature}",
              f"  seed: {decoding.seed}",
              f"  max_new_tokens: {decoding.max_new_tokens}",
              f"  chat: {'true' if decoding.chat else 'false'}",
              ""]
    return "\n".join(lines)


def group_yaml(name: str, tasks: list[str], comment: str) -> str:
    return "\n".join([HEADER, f"# {comment}", f"group: {name}", "task:", *[f"  - {t}" for t in tasks],
                      "aggregate_metric_list:", "  - metric: correct", "    aggregation: mean",
                      "    weight_by_size: true", "metadata:", "  version: 2.0", ""])


def _tokenizers(records: list[Record], given: Mapping[str, object] | None) -> dict[str, object]:
    out = dict(given or {})
    for name in dict.fromkeys(r.model for r in records):
        if name not in out:
            from .models import load
            out[name] = load(name, "cpu").tokenizer
    return out


def export(records: list[Record], out_dir, task: str = TASK, tokenizers: Mapping[str, object] | None = None,
           source=None) -> tuple[Path, Path]:
    """Write `<task>.jsonl`, utils.py, one YAML per task and the groups under out_dir; return the
    JSONL's path and the path of the group YAML of all tasks. `tokenizers` (model name ->
    tokenizer) renders the prompts; a model missing from it is loaded."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = documents(records, _tokenizers(records, tokenizers), task, source)
    for old in out_dir.glob(f"{task}*.yaml"):   # tasks of an earlier export that may be gone now
        if old.read_text().startswith(HEADER):
            old.unlink()
    data = out_dir / f"{task}.jsonl"
    data.write_text("".join(json.dumps(d, sort_keys=True) + "\n" for d in docs))
    shutil.copyfile(UTILS, out_dir / "utils.py")
    per_model: dict[str, list[str]] = {}
    for name in dict.fromkeys(d["lm_eval_task"] for d in docs):
        mine = [d for d in docs if d["lm_eval_task"] == name]
        first = mine[0]
        (out_dir / f"{name}.yaml").write_text(task_yaml(name, data.name, first["model"], first["model_sha256"],
                                                        Decoding(**first["decoding"]), len(mine),
                                                        first["chat_template_applied"]))
        per_model.setdefault(first["model"], []).append(name)
    groups = []
    for model, names in per_model.items():
        group = f"{task}_{model_key(model)}"
        (out_dir / f"{group}.yaml").write_text(group_yaml(
            group, names, f"Every record of {model}, each task asked as verified; run it on {model}'s weights."))
        groups.append(group)
    config = out_dir / f"{task}.yaml"
    config.write_text(group_yaml(task, groups, "Every record; each model's group is asked as verified "
                                               "only on that model's weights."))
    return data, config
