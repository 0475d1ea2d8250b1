"""Pictures of vectors, drawn with matplotlib (the optional ``plot`` extra) and written
atomically as PNG, SVG or PDF (by the output's extension).

Three pictures: a labelled 2-D map of words (``word_map``), an analogy's parallelogram
(the same map with the arrows A -> B and C -> answer), and the professions along the
gender direction (``direction_strip``: the numbers of the bias audit's report).
"""
import os

from staticvec.atomic import atomic_output, check_output_name
from staticvec.errors import BadOptionError, StaticvecError

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
_SIZE = (8.0, 6.0)  # inches
DPI = 100


def picture_format(path):
    """'png', 'svg' or 'pdf' from ``path``'s extension (checked before any work)."""
    check_output_name(path)
    fmt = FORMATS.get(os.path.splitext(os.fspath(path))[1].lower())
    if fmt is None or str(path) == "-":
        raise BadOptionError(f"cannot tell the picture format of {path} from its extension: use "
                             f".png, .svg or .pdf")
    return fmt


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, or one line saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise StaticvecError("pictures need matplotlib, which is not installed: pip install "
                             "'staticvec[plot]' (or pip install matplotlib)") from None
    matplotlib.use("Agg", force=True)  # files only: never a window
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    plt = pyplot()
    try:
        with atomic_output(path, "wb") as out:
            fig.savefig(out, format=picture_format(path), dpi=DPI)
    finally:
        plt.close(fig)


def word_map(path, words, coords, shares, *, title, highlight=(), arrows=()):
    """A labelled scatter of ``words`` at ``coords`` (N x 2); ``highlight``: words drawn
    in a stronger colour; ``arrows``: (from_word, to_word) pairs."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=_SIZE)
    at = {w: (float(x), float(y)) for w, (x, y) in zip(words, coords)}
    strong = set(highlight)
    for word, (x, y) in at.items():
        ax.scatter([x], [y], s=30, color="#c0392b" if word in strong else "#2c7fb8", zorder=3)
        ax.annotate(word, (x, y), xytext=(4, 4), textcoords="offset points", fontsize=10,
                    fontweight="bold" if word in strong else "normal")
    for start, end in arrows:
        (x0, y0), (x1, y1) = at[start], at[end]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="->", color="#7f7f7f", lw=1.5), zorder=2)
    ax.set_xlabel(f"PC1 ({shares[0]:.0%} of the variance)")
    ax.set_ylabel(f"PC2 ({shares[1]:.0%} of the variance)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.margins(0.15)
    fig.tight_layout()
    _save(fig, path)


def direction_strip(path, female_side, male_side, *, title):
    """Words placed along one axis by their projection (the ``[word, value]`` lists of
    the bias report), labels staggered so they stay readable."""
    plt = pyplot()
    items = sorted({w: v for w, v in list(female_side) + list(male_side)}.items(),
                   key=lambda item: item[1])
    fig, ax = plt.subplots(figsize=(_SIZE[0] + 2, _SIZE[1] - 2))
    levels = (0.8, -0.8, 1.6, -1.6, 2.4, -2.4, 3.2, -3.2)  # neighbours alternate sides
    for k, (word, value) in enumerate(items):
        y = levels[k % len(levels)]
        ax.plot([value, value], [0, y], color="#bbbbbb", lw=0.8, zorder=1)
        ax.scatter([value], [0], color="#c0392b" if value > 0 else "#2c7fb8", zorder=3)
        ax.annotate(word, (value, y), ha="center", va="bottom" if y >= 0 else "top",
                    fontsize=9)
    ax.axhline(0, color="#444444", lw=1)
    ax.axvline(0, color="#444444", lw=0.8, ls=":")
    ax.set_yticks([])
    ax.set_ylim(-4.2, 4.2)
    ax.set_xlabel("projection on the gender direction (< 0: female side, > 0: male side)")
    ax.set_title(title)
    ax.margins(x=0.1)
    fig.tight_layout()
    _save(fig, path)
