"""Bias checks on a set of vectors: WEAT, the gender direction, analogy probes.

"doctor - man + woman ~ nurse" is a property of the vectors, not of the tool that trained
them, so a release of vectors should be checked for it like any other regression. This
package computes the numbers (as a plain dict, ready for JSON) and formats them as plain
text; the CLI only parses options and prints (rich tables on a terminal).

  sets.py       the shipped word lists (WEAT, debiaswe), custom WEAT/probe JSON files, and
                which words of a set a model has
  weat.py       WEAT: association, effect size, permutation p-value
  direction.py  the gender direction and DirectBias
  probes.py     analogy probes (X - man + woman)
  report.py     audit() runs the parts; the gate; the report as JSON or plain text

Conventions (stated once here, repeated in the report):

* Words are looked up as written, then lower-cased; words not in the vocabulary are
  dropped from their set and counted in the coverage ("found/total"), never imputed.
* Cosines are computed in float64 from the stored rows, independent of the float32
  normalised matrix used for nearest-neighbour queries.
* WEAT (Caliskan, Bryson & Narayanan 2017): s(w,A,B) = mean_a cos(w,a) - mean_b cos(w,b);
  S = sum_x s(x) - sum_y s(y); d = (mean_x s - mean_y s) / std_{X u Y} s with the sample
  standard deviation (ddof=1), as in the paper. The one-sided p-value is the share of
  partitions of X u Y into sets of sizes |X|, |Y| whose X-part has an S at least as large
  as the observed one (the observed partition included, so p > 0). When words are missing
  the two target sets can differ in size; the partition keeps the sizes found.
* Gender direction (Bolukbasi et al. 2016): first principal component of the definitional
  pairs, each pair centred on its own mean (as debiaswe does), on unit vectors; oriented
  so that positive projections are on the male side of the pairs.
"""
