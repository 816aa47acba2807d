"""The batched generation engine: load a model version once, then ``generate(prompts, params)``.

Owns loading (device and dtype through ``llm/devices.py``), prompt rendering (chat template), length
bucketing into token-budgeted micro-batches, per-request seeded sampling, stop strings, and CUDA-OOM
splitting. Does not own prompt wording (``prompts.py``), output parsing (``llm/parse.py``) nor which
version is active (``registry.py``).

Determinism: every generated row (prompt × sample j) draws its random numbers from its own generator,
seeded from ``(params.seed, rendered prompt, j)``; sampling is inverse-CDF with one uniform per step.
So the same seed and inputs give the same texts however the rows are bucketed, batched or split.
"""

from __future__ import annotations

import functools
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
from marketing_gen.llm.sampling import Completion, Prompt, SamplingParams

if TYPE_CHECKING:
    import torch

    from marketing_gen.config import Settings

log = logging.getLogger(__name__)

MIN_SHARED_PREFIX = 16
"""A system message (+ few-shot turns) at least this many tokens long gets its KV cache computed once and shared."""
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
    generated_tokens: int = 0


class Engine:
    """A loaded causal LM plus its tokenizer; build once per process, call ``generate`` many times."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        version: str,
        path: str | Path,
        token_budget: int = 32768,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.version = version
        self.path = Path(path)
        self.token_budget = token_budget
        self.zero_shot_channels = _zero_shot_channels(self.path)
        """Channels this model was fine-tuned on without the prompt's example turn (None: a base model)."""
        self.last_stats = GenerateStats()
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
        settings: Settings | None = None,
        version: str | None = None,
    ) -> Engine:
        """Load the HF model directory at ``path`` on ``device`` (default: settings / Accelerate) in ``dtype``."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from marketing_gen.config import get_settings
        from marketing_gen.llm.devices import configure_threads, resolve_device, resolve_dtype

        settings = settings or get_settings()
        path = Path(path)
        if not (path / "config.json").is_file():
            raise ClientError(f"No model at {path}: run `marketing-gen model import-base`")
        dev = device if isinstance(device, torch.device) else resolve_device(device or settings.device)
        torch_dtype = resolve_dtype(dev, dtype or settings.dtype)
        if dev.type == "cpu":
            configure_threads(settings.torch_threads)
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"could not load the model at {path}: {exc}") from exc
        model.to(dev)
        model.eval()
        log.info("loaded %s on %s as %s", path, dev, torch_dtype)
        return cls(model, tokenizer, version=version or path.name, path=path, token_budget=settings.token_budget)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Engine:
        """Load the active registered model version (``marketing-gen model list`` shows it)."""
        from marketing_gen.config import get_settings
        from marketing_gen.registry import active_version

        settings = settings or get_settings()
        active = active_version(url=settings.database_url)
        if active is None:
            raise ClientError("No model: run `marketing-gen model import-base`")
        return cls.from_path(active.path, settings=settings, version=active.name)

    def few_shot_for(self, channel: str) -> bool:
        """Whether prompts for ``channel`` carry the template's example turn: yes for a base model and for
        channels a fine-tuned model never trained on; no for the channels it learnt (train = serve)."""
        return self.zero_shot_channels is None or channel not in self.zero_shot_channels

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
            outputs = self._generate_batch(batch, params, ignore_eos)
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
        self, batch: list[_Row], params: SamplingParams, ignore_eos: bool
    ) -> list[tuple[str, str, int]]:
        """One ``model.generate`` call on left-padded rows; returns (text, finish_reason, tokens) per row."""
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        # 1. one tensor: [shared system prefix][left padding][rest of the prompt], with its attention mask
        shared = batch[0].prefix
        width = shared + max(len(r.ids) - shared for r in batch)
        input_ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(batch), width), dtype=torch.long)
        for k, row in enumerate(batch):
            rest = row.ids[shared:]
            input_ids[k, :shared] = torch.tensor(row.ids[:shared], dtype=torch.long)
            attention[k, :shared] = 1
            input_ids[k, width - len(rest) :] = torch.tensor(rest, dtype=torch.long)
            attention[k, width - len(rest) :] = 1
        input_ids = input_ids.to(self.device)
        attention = attention.to(self.device)
        capacity = width + params.max_new_tokens
        prefix_kv = self._prefix_kv_for(batch[0].ids[:shared]) if shared else None
        extra: dict[str, Any] = {"cache": _preallocated_cache(self.model.config, len(batch), capacity, prefix_kv)}

        # 2. decoding: greedy, or our per-row seeded sampler as the last logits processor of a greedy search
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            min_new_tokens=params.max_new_tokens if ignore_eos else None,
            do_sample=False,
            num_beams=1,
            pad_token_id=self.pad_id,
            eos_token_id=list(self.eos_ids),
            use_cache=True,
        )
        processors = LogitsProcessorList()
        if params.repetition_penalty != 1.0 or params.no_repeat_ngram_size:
            processors.append(_GeneratedRepetition(width, params.repetition_penalty, params.no_repeat_ngram_size))
        if params.temperature > 0:
            processors.append(_SeededSampler([r.seed for r in batch], width, params))
        criteria = StoppingCriteriaList()
        if params.stop:
            criteria.append(_StopOnStrings(self.tokenizer, params.stop, width))

        # 3. generate
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                generation_config=config,
                logits_processor=processors,
                stopping_criteria=criteria,
                **extra,
            )

        # 4. cut each row at EOS / padding / stop string
        generated = out[:, width:].tolist()
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


def _preallocated_cache(config: Any, rows: int, capacity: int, prefix_kv: list[tuple[Any, Any]] | None) -> Any:
    """A DynamicCache whose layers write into buffers of ``capacity`` positions instead of growing by
    concatenation (which copies the whole cache at every step: a third of CPU decode time at ~450-token
    prompts); starts with ``prefix_kv`` copied into every row when given."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    cache = DynamicCache(config=config)
    if all(type(layer) is DynamicLayer for layer in cache.layers):
        layer_class = _preallocated_layer_class()
        cache.layers = [layer_class(capacity) for _ in cache.layers]
    for layer, (keys, values) in zip(cache.layers, prefix_kv or [], strict=False):
        layer.update(keys.expand(rows, -1, -1, -1), values.expand(rows, -1, -1, -1))
    return cache


def _zero_shot_channels(path: Path) -> frozenset[str] | None:
    from marketing_gen.registry import read_version_file

    info = (read_version_file(path) if path.is_dir() else None) or {}
    channels = info.get("zero_shot_channels")
    return frozenset(channels) if channels is not None else None


def _row_seed(base_seed: int, text: str, sample: int) -> int:
    digest = hashlib.sha256(f"{base_seed}\x1f{sample}\x1f{text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


@functools.cache
def _preallocated_layer_class() -> type:
    """``_PreallocatedLayer``, defined on first use so that importing the engine does not import transformers."""
    import torch
    from transformers.cache_utils import DynamicLayer

    class _PreallocatedLayer(DynamicLayer):
        """A DynamicLayer over preallocated buffers: ``keys``/``values`` are views of the positions written so far."""

        def __init__(self, capacity: int) -> None:
            super().__init__()
            self.capacity = capacity
            self._length = 0

        def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
            self.device = key_states.device
            b, h, _, d = key_states.shape
            self._k = torch.empty((b, h, self.capacity, d), dtype=key_states.dtype, device=self.device)
            self._v = torch.empty((b, value_states.shape[1], self.capacity, value_states.shape[-1]),
                                  dtype=value_states.dtype, device=self.device)  # fmt: skip
            self._length = 0
            self.is_initialized = True

        def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            start, end = self._length, self._length + key_states.shape[-2]
            if end > self.capacity:  # more positions than planned: grow (copies, like DynamicLayer)
                self._k = torch.cat([self._k[..., :start, :], key_states], dim=-2)
                self._v = torch.cat([self._v[..., :start, :], value_states], dim=-2)
                self.capacity = end
            else:
                self._k[..., start:end, :] = key_states
                self._v[..., start:end, :] = value_states
            self._length = end
            self.keys = self._k[..., :end, :]
            self.values = self._v[..., :end, :]
            return self.keys, self.values

    return _PreallocatedLayer


class _GeneratedRepetition:
    """Repetition penalty and no-repeat n-grams over the *generated* tokens only (a LogitsProcessor).

    transformers' own processors also count the prompt, which penalises exactly what copy must repeat: the
    product names and prices in the data block and the field tags of the answer format. Here the prompt
    (``prompt_width`` columns, padding included) is ignored.
    """

    def __init__(self, prompt_width: int, penalty: float, ngram: int) -> None:
        self.prompt_width = prompt_width
        self.penalty = penalty
        self.ngram = ngram

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        generated = input_ids[:, self.prompt_width :]
        if not generated.shape[1]:
            return scores
        if self.penalty != 1.0:
            seen = torch.gather(scores, 1, generated)
            seen = torch.where(seen < 0, seen * self.penalty, seen / self.penalty)
            scores = scores.scatter(1, generated, seen)
        n = self.ngram
        if n and generated.shape[1] >= n:
            rows = generated.tolist()
            for k, row in enumerate(rows):
                prefix = tuple(row[len(row) - n + 1 :]) if n > 1 else ()
                banned = {row[i + n - 1] for i in range(len(row) - n + 1) if tuple(row[i : i + n - 1]) == prefix}
                if banned:
                    scores[k, list(banned)] = float("-inf")
        return scores


class _SeededSampler:
    """Temperature / top-k / top-p sampling with one private random stream per row (a LogitsProcessor).

    Returns scores that are -inf everywhere but the sampled token, so the greedy search picks it.
    """

    def __init__(self, seeds: list[int], prompt_width: int, params: SamplingParams) -> None:
        import torch

        steps = params.max_new_tokens
        self.uniforms = torch.stack([torch.rand(steps, generator=torch.Generator().manual_seed(s)) for s in seeds])
        self.prompt_width = prompt_width
        self.temperature = params.temperature
        self.top_k = params.top_k
        self.top_p = params.top_p
        self._device_uniforms: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        if self._device_uniforms is None:
            self._device_uniforms = self.uniforms.to(scores.device)
        step = input_ids.shape[1] - self.prompt_width
        u = self._device_uniforms[:, step : step + 1]
        logits = scores.float() / self.temperature
        if self.top_k and self.top_k < logits.shape[-1]:
            cand, ids = torch.topk(logits, self.top_k, dim=-1)  # sorted, descending; renormalized like HF's TopK
            chosen = self._pick(torch.softmax(cand, dim=-1), ids, u)
        elif self.top_p < 1.0:
            chosen = self._nucleus(logits, u)
        else:
            chosen = self._pick(torch.softmax(logits, dim=-1), None, u)
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(-1, chosen, 0.0)
        return out

    def _nucleus(self, logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Top-p without sorting the whole vocabulary: a row whose top-k candidates already hold ``top_p`` of the
        mass has its whole nucleus among them (exact); rows that do not retry with more candidates. The choice
        depends on the row alone, so results do not depend on the batch."""
        import torch

        vocab = logits.shape[-1]
        lse = torch.logsumexp(logits, dim=-1, keepdim=True)
        chosen = torch.zeros((logits.shape[0], 1), dtype=torch.long, device=logits.device)
        pending = torch.arange(logits.shape[0], device=logits.device)
        for k in (64, 1024, vocab):
            if k >= vocab:
                cand, ids = torch.sort(logits[pending], dim=-1, descending=True)
            else:
                cand, ids = torch.topk(logits[pending], k, dim=-1)
            probs = torch.exp(cand - lse[pending])  # probabilities in the full distribution
            covered = probs.sum(dim=-1) >= self.top_p if k < vocab else torch.ones_like(pending, dtype=torch.bool)
            done = pending[covered]
            if done.numel():
                chosen[done] = self._pick(probs[covered], ids[covered], u[done])
            pending = pending[~covered]
            if not pending.numel():
                break
        return chosen

    def _pick(self, probs: torch.Tensor, ids: torch.Tensor | None, u: torch.Tensor) -> torch.Tensor:
        """Inverse-CDF draw with one uniform per row; ``probs`` sorted descending when ``top_p`` < 1."""
        import torch

        if self.top_p < 1.0:
            before = torch.cumsum(probs, dim=-1) - probs  # mass of strictly more likely tokens
            probs = probs.masked_fill(before >= self.top_p, 0.0)  # the top token always stays
        cdf = torch.cumsum(probs, dim=-1)
        pick = torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=cdf.shape[-1] - 1)
        return pick if ids is None else ids.gather(-1, pick)


class _StopOnStrings:
    """Stops a row once its recent generated text contains one of the stop strings (a StoppingCriteria)."""

    def __init__(self, tokenizer: Any, stops: Sequence[str], prompt_width: int) -> None:
        self.tokenizer = tokenizer
        self.stops = tuple(stops)
        self.prompt_width = prompt_width
        self.window = 8 + max(len(s) for s in stops)  # every token decodes to ≥ 1 character

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        import torch

        tails = input_ids[:, self.prompt_width :][:, -self.window :]
        texts = self.tokenizer.batch_decode(tails, skip_special_tokens=True)
        hits = [any(s in t for s in self.stops) for t in texts]
        return torch.tensor(hits, dtype=torch.bool, device=input_ids.device)


def generate_distributed(engine: Engine, prompts: Sequence[Prompt], params: SamplingParams) -> list[Completion]:
    """One-shot multi-GPU run: each ``accelerate launch`` process generates its share; all get every result.

    Launch with ``accelerate launch --num_processes N your_script.py`` where the script builds
    ``Engine.from_settings()`` (device ``auto`` → each process's own GPU) and calls this. On one process it is
    ``engine.generate``. Results are in input order, ``Completion.index`` is the global index.
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
