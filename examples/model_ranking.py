"""Rank five "models" of the same inputs: UDR without labels, then downstream probes,
sample efficiency, fairness and out-of-distribution accuracy with them.

A full product grid of 3 factors (4 x 5 x 6 values, 10 rows per combination) is encoded
by five fake encoders, each with 4 latents and a per-latent KL (as a VAE reports it):

- ``aligned_a`` .. ``aligned_c``: each informative latent tracks one factor (permuted,
  sign-flipped, rescaled, a little noise) and the fourth latent has collapsed (KL ~ 0);
- ``rotated``: the same information, rotated across the latents;
- ``summed``: factors 0 and 1 only through their sum (information lost).

UDR ranks the aligned models first without looking at the factors (they agree with each
other; the rotated one agrees with nobody, the summed one only on its third factor). The supervised probes then say
why: the rotated code needs more labels (sample efficiency) and generalizes worse out of
distribution; the summed one is unfair (predictions of factor 0 follow factor 1). Takes about
three minutes of one CPU core::

    python examples/model_ranking.py [--figure docs/img/sample_efficiency.png]
"""

from __future__ import annotations

import argparse
import itertools
import warnings

import numpy as np
import pandas as pd

from lps_eval import metrics

rng = np.random.default_rng(0)
factors = np.repeat(np.array(list(itertools.product(range(4), range(5), range(6)))), 10, 0)
rng.shuffle(factors)  # rows in random order, as an encoder of a shuffled dataset sees them
n = len(factors)
scaled = (factors - factors.mean(0)) / factors.std(0)


def aligned(seed: int) -> np.ndarray:
    r = np.random.default_rng(seed)
    code = scaled[:, r.permutation(3)] * r.choice([-1, 1], 3) * r.uniform(0.5, 2, 3)
    return np.c_[code + 0.05 * r.normal(size=(n, 3)), 1e-3 * r.normal(size=n)]


rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
models = {
    "aligned_a": aligned(1),
    "aligned_b": aligned(2),
    "aligned_c": aligned(3),
    "rotated": np.c_[scaled @ rotation + 0.05 * rng.normal(size=(n, 3)), rng.normal(size=n)],
    # equal steps, so the sum cannot be decoded back into its two terms
    "summed": np.c_[
        (factors[:, 0] + factors[:, 1]) / 2, scaled[:, 2], 0.05 * rng.normal(size=(n, 2))
    ],
}
kl = {name: np.array([1.0, 1.0, 1.0, 1e-4]) for name in models}  # latent 3: collapsed
kl["rotated"] = np.ones(4)  # its fourth latent is noise the KL cannot flag
kl["summed"] = np.array([1.0, 1.0, 1e-4, 1e-4])


def main(figure: str | None) -> None:
    # 1. UDR: no factors, every model against every other (Lasso and Spearman)
    lasso = metrics.udr(models, kl, num_samples=None, n_boot=50)
    spearman = metrics.udr(models, kl, correlation="spearman", num_samples=None)
    table = pd.DataFrame(
        {
            "udr": lasso.model_scores,
            "udr_ci": [
                f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(lasso.ci_low, lasso.ci_high, strict=True)
            ],
            "udr_spearman": spearman.model_scores,
        },
        index=list(models),
    )
    # 2. the supervised probes, one model at a time (train on 2/3 of the rows)
    split = int(n * 2 / 3)
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "sizes exceed the training rows"
        for name, z in models.items():
            rows = {"z": z[:split], "factors": factors[:split]}
            test = {"z_test": z[split:], "factors_test": factors[split:]}
            down = metrics.downstream(**rows, **test, probe="fast_gbt", num_train=(10, 100, 800))
            fair = metrics.fairness(z, factors, probe="logistic", num_train=800)
            ood = metrics.strong_downstream(  # trees: a linear probe cannot see rotations
                **rows, **test, probe="fast_gbt", num_train=(50,), n_experiment=3
            )
            table.loc[name, "downstream"] = down.value
            table.loc[name, "efficiency"] = down.efficiency
            table.loc[name, "fairness"] = fair.value
            table.loc[name, "fairness_null"] = fair.fairness_null
            table.loc[name, "ood_gap"] = ood.gap
            frames.append(down.to_frame().assign(model=name))
    print(table.round(3).to_string())
    print(
        "\nUDR (higher = agrees with the other models), downstream (test accuracy at 800 "
        "rows), efficiency (accuracy at 100 / at 800), fairness (unfairness; compare with "
        "fairness_null), ood_gap (1 - out-of-distribution / i.i.d. accuracy)"
    )
    if figure:
        fig = metrics.sample_efficiency_figure(pd.concat(frames))
        fig.savefig(figure, dpi=130)
        print(f"\nwrote {figure}: {fig.lps_caption}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", help="write the sample-efficiency figure here (PNG)")
    main(parser.parse_args().figure)
