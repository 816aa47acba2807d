"""The batched generation engine: load a model version once, then ``generate(prompts, params)``.

Owns loading (device and dtype through ``llm/devices.py``), prompt rendering (chat template), length
bucketing into token-budgeted micro-batches, the per-process system-prefix KV cache, and CUDA-OOM splitting.
Each micro-batch is laid out by ``llm/layout.py`` and decoded by ``llm/decode.py`` (per-row processors in
``llm/processors.py``, KV cache in ``llm/kv_cache.py``). Does not own prompt wording (``prompts.py``), output
parsing (``llm/parse.py``) nor which version is active (``versions/``): it knows no database or settings.

Determinism: every generated row (prompt × sample j) draws its random numbers from its own generator,
seeded from ``(params.seed, rendered prompt, j)``; sampling is inverse-CDF with one uniform per step.
So the same seed and inputs give the same texts however the rows are bucketed, batched or split.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marketing_gen.errors import ClientError, InvalidRequest, ModelLoadError, TransientError
from marketing_gen.llm import kv_cache
from marketing_gen.llm.budget import default_token_budget
from marketing_gen.llm.decode import decode, prefill_heads
from marketing_gen.llm.layout import plan_layout
from marketing_gen.llm.sampling import Completion, Prompt, SamplingParams

if TYPE_CHECKING:
    import torch

    from marketing_gen.config import Settings

log = logging.getLogger(__name__)

MIN_SHARED_PREFIX = 16
"""A system message (+ few-shot turns) at least this many tokens long gets its KV cache computed once and shared."""
RANDOM_INIT_SEED = 5_318_008
"""``from_path(random_init=True)`` draws the weights from this seed: two benchmark runs compare."""
PREFIX_CACHE_SIZE = 16
"""Distinct system-prefix KV caches kept per engine (a few MB each for a 135M model)."""


@dataclass(frozen=True)
class _Row:
    """One text to generate: prompt ``index``, sample ``sample`` of ``n``, its token ids and seed."""

    index: int
    sample: int
    ids: tuple[int, ...]
    seed: int
    prefix: int = 0
    """Leading tokens that are the prompt's system message and few-shot turns: their KV cache is computed once."""


@dataclass
class GenerateStats:
    """What the last ``generate`` call did (for benchmarks and logs)."""

    rows: int = 0
    micro_batches: int = 0
    oom_splits: int = 0
    batch_rows: list[int] = field(default_factory=list)
    batch_seconds: list[float] = field(default_factory=list)
    """Wall time of each micro-batch (same order as ``batch_rows``)."""
    prompt_tokens: int = 0
    prefill_tokens: int = 0
    """Token positions run in prefill, padding included; less than ``prompt_tokens`` when system prefixes and
    shared heads (``layout.py``) are encoded once."""
    generated_tokens: int = 0
    prefill_seconds: float = 0.0
    """Wall time spent encoding prompts (shared heads and rows; the cached system prefix excluded)."""
    decode_seconds: float = 0.0
    """Wall time spent in decode steps (sampling and host checks included)."""


class Engine:
    """A loaded causal LM plus its tokenizer; build once per process, call ``generate`` many times."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        version: str,
        path: str | Path,
        token_budget: int | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.version = version
        self.path = Path(path)
        self.token_budget: int = token_budget or default_token_budget(model, model.device)
        """Most (prompt + new) token positions per micro-batch; default from ``llm/budget.py``."""
        self.zero_shot_channels = _recorded_channels(self.path, "zero_shot_channels")
        """Channels this model was fine-tuned on without the prompt's example turn (None: a base model)."""
        self.slot_channels = _recorded_channels(self.path, "slot_channels") or frozenset()
        """Channels this model learnt with slots (``{NAME}``, ``{ITEM1}`` …, filled by code after generation)."""
        if self.slot_channels and _recorded_format(self.path) < 2:
            log.warning(
                "model %s learnt slots with the prompt format 1 (rule lines in the system message); it is served "
                "format 2 now: retrain it (`marketing-gen train quick` or `train sft`) for train = serve",
                version,
            )
        self.last_stats = GenerateStats()
        self.int8_decode_layers = 0
        """Linear layers with an int8 copy for small decode steps (``from_path(int8_decode=True)`` on CPU)."""
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.pad_id: int = tokenizer.pad_token_id
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        self.eos_ids: tuple[int, ...] = tuple(sorted(eos_ids))
        self.max_positions: int | None = getattr(model.config, "max_position_embeddings", None)
        self._system_ids: dict[str, tuple[int, ...]] = {}
        self._prefix_kv: dict[tuple[int, ...], list[tuple[Any, Any]]] = {}

    # -- loading -------------------------------------------------------------------------------------------

    @classmethod
    def from_path(
        cls,
        path: str | Path,
        *,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        torch_threads: int | None = None,
        token_budget: int | None = None,
        settings: Settings | None = None,
        version: str | None = None,
        int8_decode: bool = False,
        random_init: bool = False,
    ) -> Engine:
        """Load the HF model directory at ``path`` on ``device`` (default: Accelerate's choice) in ``dtype``.

        ``settings`` (optional) supplies device, dtype, threads and token budget where the arguments do not; the
        engine never reads settings or a database itself (``versions/active.py`` loads the active version).
        ``token_budget`` None: ``llm/budget.py`` picks it (CPU: a constant; CUDA: from free memory).
        ``int8_decode``: on CPU, decode steps of ≤ 8 rows use int8 weight copies (``llm/int8_decode.py``).
        ``random_init``: the directory's architecture and tokenizer with random weights (seeded), for benchmarks on
        machines the weights cannot reach; its texts are noise.
        """
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from marketing_gen.llm.devices import configure_threads, resolve_device, resolve_dtype

        if settings is not None:
            device = device or settings.device
            dtype = dtype or settings.dtype
            torch_threads = torch_threads or settings.torch_threads
            token_budget = token_budget or settings.token_budget
        path = Path(path)
        if not (path / "config.json").is_file():
            raise ClientError(f"No model at {path}: run `marketing-gen model import-base`")
        dev = device if isinstance(device, torch.device) else resolve_device(device)
        torch_dtype = resolve_dtype(dev, dtype)
        if dev.type == "cpu":
            configure_threads(torch_threads)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            if random_init:
                from transformers import AutoConfig

                torch.manual_seed(RANDOM_INIT_SEED)
                model: Any = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path), dtype=torch_dtype)
            else:
                model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"could not load the model at {path}: {exc}") from exc
        model.to(dev)
        model.eval()
        log.info("loaded %s on %s as %s", path, dev, torch_dtype)
        int8_layers = 0
        if int8_decode:
            from marketing_gen.llm.int8_decode import enable_int8_decode

            int8_layers = enable_int8_decode(model)
            log.info("int8 decode: %d linear layers on %s", int8_layers, dev)
        name = version or path.name
        engine = cls(model, tokenizer, version=f"{name} (random init)" if random_init else name, path=path,
                     token_budget=token_budget)  # fmt: skip
        engine.int8_decode_layers = int8_layers
        return engine

    def few_shot_for(self, channel: str) -> bool:
        """Whether prompts for ``channel`` carry the template's example turn: yes for a base model and for
        channels a fine-tuned model never trained on; no for the channels it learnt (train = serve)."""
        return self.zero_shot_channels is None or channel not in self.zero_shot_channels

    def uses_slots(self, channel: str) -> bool:
        """Whether this model learnt ``channel`` with slots: its prompts then have the slot model's system message
        (``prompts.build_prompt(slots=True)``) and its output is filled by code (``marketing_gen.slots``), as in
        training (train = serve)."""
        return channel in self.slot_channels

    @property
    def device(self) -> torch.device:
        """Where the model's weights are."""
        return self.model.device

    @property
    def dtype(self) -> torch.dtype:
        """The model's weight precision."""
        return self.model.dtype

    # -- generation ----------------------------------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees: chat messages through the chat template, raw strings as they are."""
        if isinstance(prompt, str):
            return prompt
        if not self.tokenizer.chat_template:
            raise InvalidRequest(f"model {self.version!r} has no chat template; pass plain text prompts")
        return self.tokenizer.apply_chat_template(list(prompt), add_generation_prompt=True, tokenize=False)

    def generate(
        self,
        prompts: Sequence[Prompt],
        params: SamplingParams | None = None,
        *,
        token_budget: int | None = None,
        ignore_eos: bool = False,
    ) -> list[Completion]:
        """Generate ``params.n`` texts per prompt; results in input order.

        ``token_budget`` overrides the engine's (prompt + new tokens) × rows bound per micro-batch.
        ``ignore_eos`` always generates ``max_new_tokens`` tokens (benchmarks at equal output length).
        """
        params = params or SamplingParams()
        budget = token_budget or self.token_budget
        rows = self._build_rows(prompts, params)
        self.last_stats = stats = GenerateStats(rows=len(rows))
        results: dict[tuple[int, int], tuple[str, str, int]] = {}
        for batch in self._micro_batches(rows, params.max_new_tokens, budget):
            self._generate_split(batch, params, ignore_eos, results, stats)
        completions: list[Completion] = []
        prompt_tokens = {r.index: len(r.ids) for r in rows}
        for i, prompt in enumerate(prompts):
            outs = [results[(i, j)] for j in range(params.n)]
            completions.append(
                Completion(
                    index=i,
                    prompt=prompt,
                    texts=[o[0] for o in outs],
                    finish_reasons=[o[1] for o in outs],
                    tokens=[o[2] for o in outs],
                    prompt_tokens=prompt_tokens[i],
                )
            )
        stats.prompt_tokens = sum(prompt_tokens.values())
        stats.generated_tokens = sum(sum(c.tokens) for c in completions)
        return completions

    def _build_rows(self, prompts: Sequence[Prompt], params: SamplingParams) -> list[_Row]:
        if isinstance(prompts, str | dict):
            raise InvalidRequest("prompts must be a list of prompts (strings or chat message lists), not one prompt")
        base_seed = params.seed if params.seed is not None else secrets.randbits(63)
        rows: list[_Row] = []
        for i, prompt in enumerate(prompts):
            _check_prompt(i, prompt)
            text = self.render(prompt)
            ids = tuple(self.tokenizer(text, add_special_tokens=isinstance(prompt, str))["input_ids"])
            if not ids:
                raise InvalidRequest(f"prompts[{i}] is empty")
            if self.max_positions and len(ids) + params.max_new_tokens > self.max_positions:
                raise InvalidRequest(
                    f"prompts[{i}] has {len(ids)} tokens; with max_new_tokens={params.max_new_tokens} that exceeds "
                    f"the model's {self.max_positions} positions: shorten the prompt or lower max_new_tokens"
                )
            prefix = self._system_prefix_len(prompt, ids)
            for j in range(params.n):
                rows.append(_Row(index=i, sample=j, ids=ids, seed=_row_seed(base_seed, text, j), prefix=prefix))
        return rows

    def _system_prefix_len(self, prompt: Prompt, ids: tuple[int, ...]) -> int:
        """Token length of the rendered conversation before the last message (system message, few-shot turns)
        when it is a token prefix of the prompt and starts with a system message; else 0."""
        if isinstance(prompt, str) or len(prompt) < 2 or prompt[0].get("role") != "system":
            return 0
        key = json.dumps(list(prompt[:-1]), sort_keys=True)
        prefix_ids = self._system_ids.get(key)
        if prefix_ids is None:
            head = [dict(m) for m in prompt[:-1]]
            text = self.tokenizer.apply_chat_template(head, add_generation_prompt=False, tokenize=False)
            prefix_ids = tuple(self.tokenizer(text, add_special_tokens=False)["input_ids"])
            if len(self._system_ids) > 256:
                self._system_ids.clear()
            self._system_ids[key] = prefix_ids
        n = len(prefix_ids)
        if n >= MIN_SHARED_PREFIX and n < len(ids) and ids[:n] == prefix_ids:
            return n
        return 0

    @staticmethod
    def _micro_batches(rows: list[_Row], max_new_tokens: int, budget: int) -> list[list[_Row]]:
        """Length bucketing: group rows by shared system prefix, sort by prompt length, cut when the group changes
        or (longest prompt + new tokens) × rows > budget."""
        ordered = sorted(rows, key=lambda r: (r.ids[: r.prefix], len(r.ids), r.index, r.sample))
        batches: list[list[_Row]] = []
        current: list[_Row] = []
        for row in ordered:
            width = len(row.ids) + max_new_tokens  # rows are sorted, so this row is the longest so far
            same_prefix = not current or current[0].ids[: current[0].prefix] == row.ids[: row.prefix]
            if current and (not same_prefix or width * (len(current) + 1) > budget):
                batches.append(current)
                current = []
            current.append(row)
        if current:
            batches.append(current)
        return Engine._rebalance_tails(batches, max_new_tokens, budget)

    @staticmethod
    def _rebalance_tails(batches: list[list[_Row]], max_new_tokens: int, budget: int) -> list[list[_Row]]:
        """A tiny last chunk of a prefix group (e.g. 31 + 1) costs as many decode steps as a full one: even the
        two chunks out (16 + 16) when the budget allows; each step of a smaller batch is cheaper."""
        out = [list(b) for b in batches]
        for k in range(1, len(out)):
            prev, last = out[k - 1], out[k]
            same_group = prev[0].ids[: prev[0].prefix] == last[0].ids[: last[0].prefix]
            if not same_group or len(last) * 2 >= len(prev):
                continue
            move = (len(prev) - len(last)) // 2
            moved = prev[len(prev) - move :] + last
            if (len(moved[-1].ids) + max_new_tokens) * len(moved) <= budget:
                out[k - 1], out[k] = prev[: len(prev) - move], moved
        return out

    def _generate_split(
        self,
        batch: list[_Row],
        params: SamplingParams,
        ignore_eos: bool,
        results: dict[tuple[int, int], tuple[str, str, int]],
        stats: GenerateStats,
    ) -> None:
        """Run one micro-batch; on CUDA OOM split it in half and retry each half (never drop a row)."""
        import torch

        started = time.perf_counter()
        try:
            outputs = self._generate_batch(batch, params, ignore_eos, stats)
        except torch.OutOfMemoryError as exc:
            if len(batch) == 1:
                raise TransientError(f"out of device memory generating a single text: {exc}") from exc
            log.warning("OOM on a micro-batch of %d rows; splitting in half", len(batch))
            stats.oom_splits += 1
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            half = len(batch) // 2
            self._generate_split(batch[:half], params, ignore_eos, results, stats)
            self._generate_split(batch[half:], params, ignore_eos, results, stats)
            return
        stats.micro_batches += 1
        stats.batch_rows.append(len(batch))
        stats.batch_seconds.append(time.perf_counter() - started)
        for row, out in zip(batch, outputs, strict=True):
            results[(row.index, row.sample)] = out

    def _generate_batch(
        self, batch: list[_Row], params: SamplingParams, ignore_eos: bool, stats: GenerateStats
    ) -> list[tuple[str, str, int]]:
        """Decode one micro-batch of left-padded rows; returns (text, finish_reason, tokens) per row."""
        import torch

        marks = [time.perf_counter()]  # start, prompts encoded

        # 1. one tensor: [system prefix][pad][shared head][pad][rest of the prompt] (``layout.py``)
        shared = batch[0].prefix
        layout = plan_layout([r.ids for r in batch], shared, self.pad_id)
        input_ids = layout.input_ids.to(self.device)
        attention = layout.attention.to(self.device)
        prefix_kv = self._prefix_kv_for(batch[0].ids[:shared]) if shared else None
        capacity = input_ids.shape[1] + params.max_new_tokens
        if layout.head_ids is not None and layout.row_group is not None and layout.head_attention is not None:
            groups = layout.head_ids.shape[0]
            cache = kv_cache.preallocated_cache(self.model.config, groups, capacity, prefix_kv)
            prefill_heads(
                self.model, layout.head_ids.to(self.device), layout.head_attention.to(self.device), cache, shared
            )
            cache.batch_select_indices(layout.row_group.to(self.device))
        else:
            cache = kv_cache.preallocated_cache(self.model.config, len(batch), capacity, prefix_kv)

        # 2. decode (greedy, or each row's own seeded sampler), then cut each row at EOS / stop string
        def prefilled() -> None:
            if self.device.type == "cuda":  # one synchronisation per micro-batch, for the timing
                torch.cuda.synchronize(self.device)
            marks.append(time.perf_counter())

        generated = decode(
            self.model,
            input_ids,
            attention,
            cache,
            params,
            cached=shared + layout.head_width,
            seeds=[r.seed for r in batch],
            eos_ids=self.eos_ids,
            tokenizer=self.tokenizer,
            ignore_eos=ignore_eos,
            on_prefilled=prefilled,
        )
        stats.prefill_tokens += layout.prefill_tokens
        stats.prefill_seconds += marks[1] - marks[0]
        stats.decode_seconds += time.perf_counter() - marks[1]
        return [self._finish(ids, params) for ids in generated]

    def _prefix_kv_for(self, prefix: tuple[int, ...]) -> list[tuple[Any, Any]]:
        """Per-layer (keys, values) of ``prefix`` for one row; encoded once per process (LRU)."""
        import torch

        kv = self._prefix_kv.pop(prefix, None)
        if kv is None:
            with torch.inference_mode():
                out = self.model(input_ids=torch.tensor([prefix], device=self.device), use_cache=True)
            cache = out.cache if hasattr(out, "cache") else out.past_key_values
            kv = [(layer.keys, layer.values) for layer in cache.layers]
            while len(self._prefix_kv) >= PREFIX_CACHE_SIZE:
                self._prefix_kv.pop(next(iter(self._prefix_kv)))
        self._prefix_kv[prefix] = kv  # most recently used last
        return kv

    def _finish(self, ids: list[int], params: SamplingParams) -> tuple[str, str, int]:
        end = next((k for k, t in enumerate(ids) if t in self.eos_ids), None)
        kept = ids if end is None else ids[:end]
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        cut = min((p for p in (text.find(s) for s in params.stop) if p >= 0), default=-1)
        if cut >= 0:  # the row stopped on the string; padding may follow it
            while kept and kept[-1] == self.pad_id:
                kept = kept[:-1]
            return text[:cut].strip(), "stop", len(kept)
        if end is not None:
            return text.strip(), "stop", end + 1
        return text.strip(), "length", len(kept)


def _check_prompt(i: int, prompt: Any) -> None:
    if isinstance(prompt, str):
        return
    if (
        isinstance(prompt, list | tuple)
        and prompt
        and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in prompt
        )
    ):
        return
    raise InvalidRequest(
        f"prompts[{i}] must be a string or a non-empty list of {{'role': …, 'content': …}} messages, "
        f"got {type(prompt).__name__}"
    )


def _recorded_channels(path: Path, key: str) -> frozenset[str] | None:
    """A channel list the model dir's version file records (None when it records none: a base model)."""
    from marketing_gen.llm.model_dir import read_version_file

    info = (read_version_file(path) if path.is_dir() else None) or {}
    channels = info.get(key)
    return frozenset(channels) if channels is not None else None


def _recorded_format(path: Path) -> int:
    """The prompt format the model dir's version file records (1 when it records none)."""
    from marketing_gen.llm.model_dir import read_version_file

    info = (read_version_file(path) if path.is_dir() else None) or {}
    return int(info.get("prompt_format") or 1)


def _row_seed(base_seed: int, text: str, sample: int) -> int:
    digest = hashlib.sha256(f"{base_seed}\x1f{sample}\x1f{text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generate_distributed(engine: Engine, prompts: Sequence[Prompt], params: SamplingParams) -> list[Completion]:
    """One-shot multi-GPU run: each ``accelerate launch`` process generates its share; all get every result.

    Launch with ``accelerate launch --num_processes N your_script.py`` where the script builds
    ``load_active_engine()`` (``versions/active.py``; device ``auto`` → each process's own GPU) and calls this.
    On one process it is ``engine.generate``. Results are in input order, ``Completion.index`` is the global index.
    """
    from accelerate import PartialState
    from accelerate.utils import gather_object

    state = PartialState()
    indexed = list(enumerate(prompts))
    with state.split_between_processes(indexed) as share:
        local = engine.generate([p for _, p in share], params) if share else []
        for (global_index, _), completion in zip(share, local, strict=True):
            completion.index = global_index
    gathered = gather_object(local) if state.num_processes > 1 else local
    return sorted(gathered, key=lambda c: c.index)
