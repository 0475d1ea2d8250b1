"""`plot`: a picture of words (a 2-D PCA map, a neighbourhood, an analogy's parallelogram)."""
import logging
from typing import List, Optional, Tuple

import typer

from staticvec.cli.app import EncodingErrorsOption, QuietOption, app
from staticvec.cli.display import reporting
from staticvec.cli.query import LimitOption, ModelFormatOption, QueryModelOption, load_query_model
from staticvec.errors import BadOptionError

log = logging.getLogger("staticvec.plot")


def check_picture_output(path, inputs):
    """The picture's format, matplotlib's presence and the output's path, checked before
    the model is loaded."""
    from staticvec.atomic import check_outputs
    from staticvec.io.pictures import pyplot, picture_format

    picture_format(path)
    check_outputs([("--output", path)], inputs)
    logging.getLogger("matplotlib").setLevel(logging.ERROR)  # no font-cache chatter
    pyplot()


@app.command()
def plot(
    words: Optional[List[str]] = typer.Argument(None, metavar="[WORD...]",
                                                help="Words to place on the map (2 or more)."),
    model: Optional[str] = QueryModelOption,
    output: str = typer.Option(..., "--output", "-o", metavar="FILE",
                               help="Picture: .png, .svg or .pdf."),
    nearest: Optional[str] = typer.Option(None, "--nearest", metavar="WORD",
                                          help="Map WORD and its -k nearest neighbours."),
    topn: int = typer.Option(10, "--topn", "-k", min=1, help="Neighbours with --nearest."),
    analogy: Optional[Tuple[str, str, str]] = typer.Option(
        None, "--analogy", metavar="A B C",
        help="Draw A - B + C = D: the arrows B -> A and C -> D (king man woman: man -> king, "
             "woman -> queen)."),
    fmt: Optional[str] = ModelFormatOption,
    limit: Optional[int] = LimitOption,
    encoding_errors: str = EncodingErrorsOption,
    quiet: bool = QuietOption,
):
    """Draw words on a 2-D map: the first two principal components of their unit vectors.

    Needs matplotlib (pip install 'staticvec[plot]').

    \b
    Example:
      staticvec plot france paris italy rome spain madrid -m vectors.bin -o capitals.png
      staticvec plot --nearest jazz -k 15 -m vectors.bin -o jazz.svg
      staticvec plot --analogy king man woman -m vectors.bin -o king.png
    """
    import numpy as np

    from staticvec.io.pictures import word_map
    from staticvec.model.projection import pca_2d

    given = sum([bool(words), nearest is not None, analogy is not None])
    if given != 1:
        raise BadOptionError("give words to map, or --nearest WORD, or --analogy A B C (one of "
                             "them)")
    if words and len(words) < 2:
        raise BadOptionError(f"a map needs at least 2 words (got {len(words)})")
    check_picture_output(output, [("--model", model)] if model else [])
    vectors = load_query_model(model, fmt, encoding_errors, limit)
    arrows, highlight = [], []
    if nearest is not None:
        neighbours = [w for w, _ in vectors.most_similar(nearest, topn=topn)]
        words, highlight = [nearest] + neighbours, [nearest]
        title = f"{nearest} and its {len(neighbours)} nearest neighbours"
    elif analogy is not None:
        a, b, c = analogy
        d = vectors.most_similar(positive=[a, c], negative=[b], topn=1)[0][0]
        words, highlight, arrows = [a, b, c, d], [d], [(b, a), (c, d)]
        title = f"{a} - {b} + {c} = {d}"
    else:
        words = list(dict.fromkeys(words))
        title = f"{len(words)} words"
    rows = np.stack([vectors.vector(w, norm=True) for w in words])
    coords, shares = pca_2d(rows)
    with reporting(quiet):
        word_map(output, words, coords, shares, title=f"{title} ({model})",
                 highlight=highlight, arrows=arrows)
        log.info(f"wrote a map of {len(words)} words to {output}")
