"""Paired samples: a procedural image cut into pixel patches, and a question about it.

An image is a grid of `grid x grid` cells of CELL x CELL RGB pixels; each patch the model
sees is one cell. A scene holds 2..4 objects, each a shape (a 5x5 pixel mask) in a colour in
its own cell, with Gaussian pixel noise over everything. The text is six tokens,

    <bos> QUESTION ARGUMENT ? ANSWER <eos>

of four kinds:

    colour-of SHAPE ? COLOUR      the colour of the object of that shape     (needs the image)
    shape-of COLOUR ? SHAPE       the shape of the object of that colour     (needs the image)
    where-is SHAPE ? CELL         the cell of the object of that shape       (needs the image)
    RELATION ENTITY ? VALUE       a fact of a fixed random table              (text alone predicts it)

Facts come from a table R x K -> V drawn once from `world_seed`: the text determines the
answer and the image is irrelevant. Visual answers cannot be read from the text beyond the
co-occurrence prior: shape i has a canonical colour i, and each object takes its canonical
colour with probability `cooccur` (exactly: a Bernoulli draw per object), otherwise another
colour; `cooccur` = 1/6 is no prior at all, higher values make a spurious text cue
("squares are red") that a model can use instead of looking.

Everything is seeded: `generate(n, spec, seed)` returns the same arrays for the same
arguments. `read_scene` decodes a scene back from the pixels and `answer_from_scene`
answers a question from that decoding, so labels can be checked against the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELL = 5
SHAPES = ("square", "ring", "cross", "ex", "bars", "pipes")
COLOURS = {"red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1),
           "yellow": (1, 1, 0), "magenta": (1, 0, 1), "cyan": (0, 1, 1)}
QUESTIONS = ("colour-of", "shape-of", "where-is", "fact")
QUERY_INDEX = 3       # the "?" token: its next-token prediction is the answer
ANSWER_INDEX = 4      # the answer token
TEXT_LEN = 6


def _masks() -> dict[str, np.ndarray]:
    m = {name: np.zeros((CELL, CELL), dtype=bool) for name in SHAPES}
    m["square"][1:4, 1:4] = True
    m["ring"][0, :] = m["ring"][-1, :] = m["ring"][:, 0] = m["ring"][:, -1] = True
    m["cross"][2, :] = m["cross"][:, 2] = True
    idx = np.arange(CELL)
    m["ex"][idx, idx] = m["ex"][idx, CELL - 1 - idx] = True
    m["bars"][1, :] = m["bars"][3, :] = True
    m["pipes"][:, 1] = m["pipes"][:, 3] = True
    return m


MASKS = _masks()
_COLOUR_RGB = np.array(list(COLOURS.values()), dtype=np.float32)            # (6, 3)
_MASK_ARR = np.stack([MASKS[s] for s in SHAPES]).astype(np.float32)        # (6, 5, 5)


@dataclass(frozen=True)
class DataSpec:
    grid: int = 3                  # grid x grid cells, one patch each
    min_objects: int = 2
    max_objects: int = 4
    noise: float = 0.1             # std of Gaussian pixel noise (difficulty)
    cooccur: float = 0.5           # P(object has its shape's canonical colour)
    text_fraction: float = 0.5     # share of fact questions (text-only predictable answers)
    entities: int = 256            # fact table size: relations x entities -> values (difficulty)
    relations: int = 4
    values: int = 8
    world_seed: int = 1234

    def __post_init__(self):
        if not 1 <= self.min_objects <= self.max_objects <= min(len(SHAPES) - 1, self.grid ** 2):
            raise ValueError("need 1 <= min_objects <= max_objects <= min(5, grid^2)")
        if not 0 <= self.cooccur <= 1 or not 0 <= self.text_fraction <= 1:
            raise ValueError("cooccur and text_fraction are probabilities")

    @property
    def patches(self) -> int:
        return self.grid * self.grid

    @property
    def patch_dim(self) -> int:
        return 3 * CELL * CELL


class Vocab:
    """Token ids: specials, question words, shapes, colours, cells, relations, entities, values."""

    def __init__(self, spec: DataSpec):
        words = ["<pad>", "<bos>", "<eos>", "?", *QUESTIONS[:3], *SHAPES, *COLOURS,
                 *(f"cell{i}" for i in range(spec.patches)),
                 *(f"rel{i}" for i in range(spec.relations)),
                 *(f"ent{i}" for i in range(spec.entities)),
                 *(f"val{i}" for i in range(spec.values))]
        self.words = words
        self.id = {w: i for i, w in enumerate(words)}
        self.shape0 = self.id[SHAPES[0]]
        self.colour0 = self.id["red"]
        self.cell0 = self.id["cell0"]
        self.rel0 = self.id["rel0"]
        self.ent0 = self.id["ent0"]
        self.val0 = self.id["val0"]
        # the possible answers of each question kind (for chance levels and baselines)
        self.answers = {0: list(range(self.colour0, self.colour0 + len(COLOURS))),
                        1: list(range(self.shape0, self.shape0 + len(SHAPES))),
                        2: list(range(self.cell0, self.cell0 + spec.patches)),
                        3: list(range(self.val0, self.val0 + spec.values))}

    def __len__(self) -> int:
        return len(self.words)

    def decode(self, ids) -> list[str]:
        return [self.words[int(i)] for i in ids]


def fact_table(spec: DataSpec) -> np.ndarray:
    return np.random.default_rng(spec.world_seed).integers(spec.values, size=(spec.relations, spec.entities))


@dataclass
class Batch:
    patches: np.ndarray     # (n, P, 75) float32, each patch flattened channel-major (3, 5, 5)
    tokens: np.ndarray      # (n, 6) int64
    question: np.ndarray    # (n,) 0 colour-of, 1 shape-of, 2 where-is, 3 fact
    canonical: np.ndarray   # (n,) the asked object has its canonical colour (False for facts)
    objects: np.ndarray     # (n, max_objects, 3) shape, colour, cell of each object; -1 padding

    @property
    def vision(self) -> np.ndarray:
        """The answer needs the image."""
        return self.question < 3

    def __len__(self) -> int:
        return len(self.tokens)

    def take(self, index) -> Batch:
        return Batch(self.patches[index], self.tokens[index], self.question[index],
                     self.canonical[index], self.objects[index])


def generate(n: int, spec: DataSpec, seed: int) -> Batch:
    rng = np.random.default_rng(seed)
    vocab, table = Vocab(spec), fact_table(spec)
    n_shapes, n_colours, cells = len(SHAPES), len(COLOURS), spec.patches
    objects = np.full((n, spec.max_objects, 3), -1, dtype=np.int64)
    tokens = np.zeros((n, TEXT_LEN), dtype=np.int64)
    question = np.zeros(n, dtype=np.int64)
    canonical = np.zeros(n, dtype=bool)
    is_fact = rng.random(n) < spec.text_fraction
    for i in range(n):
        k = int(rng.integers(spec.min_objects, spec.max_objects + 1))
        shapes = rng.choice(n_shapes, size=k, replace=False)
        where = rng.choice(cells, size=k, replace=False)
        canon = rng.random(k) < spec.cooccur
        colours = np.full(k, -1)
        colours[canon] = shapes[canon]                       # distinct: the shapes are
        used = set(colours[canon].tolist())
        for j in np.flatnonzero(~canon):                     # another colour, not canonical
            free = [c for c in range(n_colours) if c not in used and c != shapes[j]]
            colours[j] = free[int(rng.integers(len(free)))]
            used.add(int(colours[j]))
        objects[i, :k, 0], objects[i, :k, 1], objects[i, :k, 2] = shapes, colours, where
        if is_fact[i]:
            r, e = int(rng.integers(spec.relations)), int(rng.integers(spec.entities))
            question[i] = 3
            tokens[i] = [vocab.id["<bos>"], vocab.rel0 + r, vocab.ent0 + e, vocab.id["?"],
                         vocab.val0 + int(table[r, e]), vocab.id["<eos>"]]
            continue
        q, j = int(rng.integers(3)), int(rng.integers(k))
        question[i], canonical[i] = q, bool(canon[j])
        s, c, w = int(shapes[j]), int(colours[j]), int(where[j])
        arg, ans = {0: (vocab.shape0 + s, vocab.colour0 + c), 1: (vocab.colour0 + c, vocab.shape0 + s),
                    2: (vocab.shape0 + s, vocab.cell0 + w)}[q]
        tokens[i] = [vocab.id["<bos>"], vocab.id[QUESTIONS[q]], arg, vocab.id["?"], ans, vocab.id["<eos>"]]
    return Batch(render(objects, spec, rng), tokens, question, canonical, objects)


def render(objects: np.ndarray, spec: DataSpec, rng: np.random.Generator) -> np.ndarray:
    """(n, max_objects, 3) objects -> (n, P, 75) noisy pixel patches."""
    n = len(objects)
    img = np.zeros((n, spec.patches, 3, CELL, CELL), dtype=np.float32)
    i, j = np.nonzero(objects[:, :, 0] >= 0)
    shape, colour, cell = objects[i, j, 0], objects[i, j, 1], objects[i, j, 2]
    img[i, cell] = _COLOUR_RGB[colour][:, :, None, None] * _MASK_ARR[shape][:, None, :, :]
    if spec.noise > 0:
        img += rng.normal(0.0, spec.noise, size=img.shape).astype(np.float32)
    return img.reshape(n, spec.patches, 3 * CELL * CELL)


# ------------------------------------------------------------------ reading labels back

def read_scene(patches: np.ndarray) -> list[tuple[int, int, int]]:
    """Decode one image's (P, 75) patches into (shape, colour, cell) by thresholding pixels."""
    found = []
    names = list(COLOURS)
    for cell, patch in enumerate(patches):
        rgb = patch.reshape(3, CELL, CELL) > 0.5
        lit = rgb.any(axis=0)
        if lit.sum() < 3:
            continue
        shape = next(s for s, name in enumerate(SHAPES) if (MASKS[name] == lit).all())
        channels = tuple(int(rgb[ch][lit].mean() > 0.5) for ch in range(3))
        colour = names.index(next(n for n, v in COLOURS.items() if v == channels))
        found.append((shape, colour, cell))
    return found


def answer_from_scene(scene: list[tuple[int, int, int]], tokens, vocab: Vocab, spec: DataSpec) -> int:
    """The answer token computed from a decoded scene (visual questions) or the table (facts)."""
    q, arg = int(tokens[1]), int(tokens[2])
    if q >= vocab.rel0 and q < vocab.rel0 + spec.relations:
        return vocab.val0 + int(fact_table(spec)[q - vocab.rel0, arg - vocab.ent0])
    kind = QUESTIONS.index(vocab.words[q])
    for shape, colour, cell in scene:
        if kind == 0 and arg == vocab.shape0 + shape:
            return vocab.colour0 + colour
        if kind == 1 and arg == vocab.colour0 + colour:
            return vocab.shape0 + shape
        if kind == 2 and arg == vocab.shape0 + shape:
            return vocab.cell0 + cell
    raise ValueError("the question's argument is not in the scene")


def text_only_nll(train: Batch, test: Batch, vocab: Vocab, smoothing: float = 0.5) -> np.ndarray:
    """Per-sample answer NLL of the best predictor that sees the text and not the image:
    answer counts given (question, argument) in `train`, smoothed over the answers that
    question kind allows. With a large `train` this approaches the Bayes text-only loss
    (the spurious prior for visual answers, near 0 for facts seen often enough)."""
    counts: dict[tuple[int, int], dict[int, int]] = {}
    for row in train.tokens:
        ctx = (int(row[1]), int(row[2]))
        table = counts.setdefault(ctx, {})
        table[int(row[ANSWER_INDEX])] = table.get(int(row[ANSWER_INDEX]), 0) + 1
    out = np.zeros(len(test))
    for i, (row, q) in enumerate(zip(test.tokens, test.question)):
        seen = counts.get((int(row[1]), int(row[2])), {})
        k = len(vocab.answers[int(q)])
        p = (seen.get(int(row[ANSWER_INDEX]), 0) + smoothing) / (sum(seen.values()) + smoothing * k)
        out[i] = -np.log(p)
    return out
